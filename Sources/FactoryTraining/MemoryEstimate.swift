// Refusing work that cannot fit before allocating it: a rank or a batch far beyond the machine
// would otherwise end in the kernel's OOM killer (a signal, no message) rather than in one line.
// The estimates are deliberately coarse (they only need to catch what is hopeless); the budget is
// the memory the kernel reports as available, or the process's address-space limit if lower.
import FactoryFormats
import FactoryJSON
import Foundation

enum MemoryEstimate {
    /// Bytes this process may still use: MemAvailable of /proc/meminfo (physical memory when unreadable),
    /// capped by RLIMIT_AS.
    static func available() -> Double {
        var budget = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kb = Double(line.split(separator: " ").dropFirst().first ?? "") {
            budget = kb * 1024
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0 && limit.rlim_cur != rlim_t.max { budget = min(budget, Double(limit.rlim_cur)) }
        return budget
    }

    static func gib(_ bytes: Double) -> String { String(format: "%.1f GiB", bytes / Double(1 << 30)) }

    /// Bytes of a fine-tuning plan's added tensors: fp32 values, and when training also their gradients
    /// and AdamW's two moments (4 copies).
    static func addedTensors(_ plan: JSON, training: Bool) -> (count: Int, bytes: Double) {
        var elements = 0.0, count = 0
        for entry in plan["added"]?.arrayValue ?? [] {
            let shape = entry["shape"]?.arrayValue?.compactMap { $0.intValue.map(Double.init) } ?? []
            elements += shape.reduce(1, *)
            count += 1
        }
        return (count, elements * 4 * (training ? 4 : 1))
    }

    /// Activation bytes of one micro-batch of `tokens` tokens through a decoder described by its Hugging
    /// Face config: with checkpointing, every layer's input plus one layer's working set; without, every
    /// layer's working set; plus the head's logits and their gradient.
    static func activations(tokens: Int, hfConfig: JSON?, checkpointing: Bool) -> Double? {
        guard let c = hfConfig, let hidden = c["hidden_size"]?.intValue, let layers = c["num_hidden_layers"]?.intValue,
              let vocab = c["vocab_size"]?.intValue else { return nil }
        let intermediate = Double(c["intermediate_size"]?.intValue ?? 4 * hidden)
        let perLayer = Double(hidden) * 12 + intermediate * 4  // norms, q/k/v/o, residuals; gate/up/act/down
        let kept = checkpointing ? Double(layers) * Double(hidden) + perLayer : Double(layers) * perLayer
        return Double(tokens) * 4 * (kept + 2 * Double(vocab))
    }
}
