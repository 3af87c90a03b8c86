// GGUF's block formats (GGMLType, GGMLDequantizer) live in the SDK (SDK/GGMLBlocks), shared with the
// quantizer plugins; the host's format code sees them as its own.
@_exported import GGMLBlocks
