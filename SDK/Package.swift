// swift-tools-version:6.0
// The Factory plugin SDK: the C ABI header (the only copy), the JSON helper
// shared by host and plugins, the Swift plugin kit and the decoder-family kit. Out-of-tree plugins
// depend on this package alone, never on the host.
import PackageDescription

let package = Package(
    name: "FactorySDK",
    products: [
        .library(name: "CFactoryABI", targets: ["CFactoryABI"]),
        .library(name: "FactoryJSON", targets: ["FactoryJSON"]),
        .library(name: "FactoryPluginKit", targets: ["FactoryPluginKit"]),
        .library(name: "DecoderFamilyKit", targets: ["DecoderFamilyKit"]),
        .library(name: "GGMLBlocks", targets: ["GGMLBlocks"]),
    ],
    targets: [
        .target(
            name: "CFactoryABI",
            path: ".",
            sources: ["CFactoryABI/factory_abi.c"],
            publicHeadersPath: "include"
        ),
        .systemLibrary(
            name: "CJSONC",
            path: "CJSONC",
            pkgConfig: "json-c",
            providers: [.apt(["libjson-c-dev"])]
        ),
        .target(name: "FactoryJSON", dependencies: ["CJSONC"], path: "FactoryJSON"),
        .target(name: "FactoryPluginKit", dependencies: ["CFactoryABI", "FactoryJSON"], path: "FactoryPluginKit"),
        // The building blocks of a decoder-only model family (parameter specs, RoPE and its scalings,
        // attention, MLPs, the plugin glue): what the in-tree families are written with, for any family.
        .target(name: "DecoderFamilyKit", dependencies: ["FactoryPluginKit", "FactoryJSON"], path: "DecoderFamilyKit"),
        // GGUF's block formats (ggml's Q4_0 … Q8_0, Q5_0/Q5_1 and the K-quants): packing and unpacking as
        // ggml's reference code does, bit for bit; shared by the host's GGUF reader and the quantizer plugins.
        .target(name: "GGMLBlocks", path: "GGMLBlocks"),
    ],
    swiftLanguageModes: [.v5]
)
