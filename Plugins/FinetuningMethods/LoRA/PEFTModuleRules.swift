// Which modules an adapter touches, by PEFT's rules (peft/tuners/tuners_utils.py
// check_target_module_exists, utils/other.py _set_trainable and get_pattern_key), applied to the module
// names of the model's parameter table ("model.layers.3.self_attn.q_proj"):
//   - target_modules: a list matches a module named exactly so or ending in "." + entry (with
//     layers_to_transform / layers_pattern narrowing it to some layer indices); a string is a regex
//     that must match the whole name; "all-linear" is every linear but the output layer.
//   - exclude_modules: the same two forms; an excluded module is never adapted.
//   - modules_to_save: every module whose name ends with an entry (no dot needed: "norm" is every
//     RMSNorm), its parameters trained and saved whole; such modules are never adapted.
//   - rank_pattern / alpha_pattern: the first key that matches the end of the name (regex
//     "(.*\.)?(key)") gives that module's rank or alpha.
import FactoryJSON
import FactoryPluginKit

struct PEFTModuleRules {
    /// How target_modules or exclude_modules select modules.
    enum Selection {
        case names([String])
        case regex(String, Regex<AnyRegexOutput>)
        case allLinear

        init?(_ value: JSON?, key: String) throws {
            switch value {
            case nil, .null?: return nil
            case .string(let s)? where s == "all-linear": self = .allLinear
            case .string(let s)?: self = .regex(s, try PEFTModuleRules.regex(s, key: key))
            case .array(let items)?: self = .names(items.compactMap(\.stringValue))
            case let v?: throw PluginError.invalidArgument("lora: \(key) must be a list of module names or a regex string, got \(v.serialized())")
            }
        }

        func matches(_ module: String) -> Bool {
            switch self {
            case .names(let names): return names.contains { module == $0 || module.hasSuffix("." + $0) }
            case .regex(_, let r): return (try? r.wholeMatch(in: module)) != nil
            case .allLinear: return !module.hasSuffix("lm_head")
            }
        }
    }

    let targets: Selection
    let exclude: Selection?
    let modulesToSave: [String]
    let layersToTransform: [Int]?
    let layersPatterns: [Regex<AnyRegexOutput>]
    let rankPattern: [(Regex<AnyRegexOutput>, Int)]
    let alphaPattern: [(Regex<AnyRegexOutput>, Double)]

    /// From the method's config: `targets` (lora_target / target_modules already chosen), the PEFT-only keys under "peft.".
    init(targets: Selection, modulesToSave: [String], config: ConfigReader) throws {
        self.targets = targets
        self.modulesToSave = modulesToSave
        exclude = try Selection(config.value("peft.exclude_modules"), key: "exclude_modules")
        switch config.value("peft.layers_to_transform") {
        case nil, .null?: layersToTransform = nil
        case .int(let i)?: layersToTransform = [Int(i)]
        case .array(let items)?: layersToTransform = items.isEmpty ? nil : try items.map {
            guard let i = $0.intValue else { throw PluginError.invalidArgument("lora: layers_to_transform must hold integers, got \($0.serialized())") }
            return Int(i)
        }
        case let v?: throw PluginError.invalidArgument("lora: layers_to_transform must be an integer or a list of them, got \(v.serialized())")
        }
        let patterns: [String]
        switch config.value("peft.layers_pattern") {
        case nil, .null?: patterns = []
        case .string(let s)?: patterns = s.isEmpty ? [] : [s]
        case .array(let items)?: patterns = items.compactMap(\.stringValue)
        case let v?: throw PluginError.invalidArgument("lora: layers_pattern must be a string or a list of them, got \(v.serialized())")
        }
        // PEFT takes the first numbered segment after the pattern (not a nested expert index)
        layersPatterns = try patterns.isEmpty ? [try PEFTModuleRules.regex(#".*?\.[^.]*\.(\d+)\..*"#, key: "layers_pattern")]
            : patterns.map { try PEFTModuleRules.regex("(?:.*?\\.)?" + $0 + #"\.(\d+)\..*"#, key: "layers_pattern") }
        rankPattern = try PEFTModuleRules.pattern(config.value("peft.rank_pattern"), key: "rank_pattern") { $0.intValue.map(Int.init) }
        alphaPattern = try PEFTModuleRules.pattern(config.value("peft.alpha_pattern"), key: "alpha_pattern") { $0.doubleValue }
    }

    /// Whether LoRA adapts `module` (a linear's name).
    func adapts(_ module: String) -> Bool {
        if exclude?.matches(module) == true || isSaved(module) { return false }
        guard targets.matches(module) else { return false }
        // PEFT narrows by layer index only for a list of names
        guard case .names = targets, let layers = layersToTransform else { return true }
        guard let index = layerIndex(module) else { return false }
        return layers.contains(index)
    }

    /// Whether `module` (or a module containing it) is saved whole: its name or an ancestor's ends with a modules_to_save entry.
    func isSaved(_ module: String) -> Bool { saver(of: module, among: modulesToSave) != nil }

    /// The module (`module` or one containing it) that one of `entries` selects, if any.
    func saver(of module: String, among entries: [String]) -> String? {
        var name = Substring(module)
        while true {
            if entries.contains(where: { !$0.isEmpty && name.hasSuffix($0) }) { return String(name) }
            guard let dot = name.lastIndex(of: ".") else { return nil }
            name = name[..<dot]
        }
    }

    func layerIndex(_ module: String) -> Int? {
        for r in layersPatterns {
            if let m = try? r.wholeMatch(in: module), m.count > 1, let s = m[1].substring, let i = Int(s) { return i }
        }
        return nil
    }

    func rank(_ module: String, default r: Int) -> Int { rankPattern.first { (try? $0.0.wholeMatch(in: module)) != nil }?.1 ?? r }
    func alpha(_ module: String, default a: Double) -> Double { alphaPattern.first { (try? $0.0.wholeMatch(in: module)) != nil }?.1 ?? a }

    static func regex(_ pattern: String, key: String) throws -> Regex<AnyRegexOutput> {
        do { return try Regex(pattern) } catch { throw PluginError.invalidArgument("lora: \(key) '\(pattern)' is not a regular expression Factory can read (\(error))") }
    }

    /// PEFT's pattern dict, keys in file order, each as the regex "(.*\.)?(key)" over the whole name.
    static func pattern<T>(_ value: JSON?, key: String, _ read: (JSON) -> T?) throws -> [(Regex<AnyRegexOutput>, T)] {
        guard let value, value != .null else { return [] }
        guard let object = value.objectValue else { throw PluginError.invalidArgument("lora: \(key) must be an object of module pattern → value") }
        return try object.pairs.map { pattern, v in
            guard let x = read(v) else { throw PluginError.invalidArgument("lora: \(key)['\(pattern)'] must be a number, got \(v.serialized())") }
            return (try regex(#"(.*\.)?("# + pattern + ")", key: key), x)
        }
    }
}
