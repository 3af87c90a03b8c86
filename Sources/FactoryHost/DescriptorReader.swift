import CFactoryABI

/// Reads and validates the descriptors behind one factory. Every defect is a
/// refusal naming the file, the kind and the descriptor's index.
struct DescriptorReader {
    let file: String
    let kind: PluginKind
    let factory: UnsafePointer<factory_factory_t>
    let plugin: LoadedPlugin

    /// The smallest factory and descriptor tables ABI 1.0 defines.
    static let minimumFactorySize = MemoryLayout<factory_factory_t>.size
    static let minimumDescriptorSize = MemoryLayout<factory_descriptor_t>.size

    func read() throws -> [Component] {
        let f = factory.pointee
        guard Int(f.struct_size) >= DescriptorReader.minimumFactorySize else {
            throw refuse("factory table is \(f.struct_size) bytes, ABI 1.0 needs at least \(DescriptorReader.minimumFactorySize)")
        }
        guard let count = f.count, let descriptor = f.descriptor, f.create != nil else {
            throw refuse("factory table has a NULL function")
        }
        let n = count()
        guard n <= 10_000 else { throw refuse("factory reports \(n) components") }
        var result: [Component] = []
        for i in 0..<n {
            guard let d = descriptor(i) else { throw refuse("descriptor \(i) is NULL although count() is \(n)") }
            result.append(try component(d.pointee, index: i))
        }
        if descriptor(n) != nil { throw refuse("descriptor(\(n)) is not NULL although count() is \(n)") }
        return result
    }

    private func component(_ d: factory_descriptor_t, index: UInt32) throws -> Component {
        guard Int(d.struct_size) >= DescriptorReader.minimumDescriptorSize else {
            throw refuse("descriptor \(index) is \(d.struct_size) bytes, ABI 1.0 needs at least \(DescriptorReader.minimumDescriptorSize)")
        }
        func text(_ p: UnsafePointer<CChar>?, _ field: String, required: Bool) throws -> String {
            guard let p else {
                if required { throw refuse("descriptor \(index) has no \(field)") }
                return ""
            }
            let s = String(cString: p)
            if required && s.isEmpty { throw refuse("descriptor \(index) has an empty \(field)") }
            return s
        }
        let name = try text(d.name, "name", required: true)
        guard ComponentName.isValid(name) else {
            throw refuse("descriptor \(index) name '\(name)' must match [a-z0-9_.-]+ (users type it in configs)")
        }
        var features: [String] = []
        if let list = d.features {
            var i = 0
            while let item = list[i], i < 1000 {
                features.append(String(cString: item))
                i += 1
            }
        }
        return Component(kind: kind, id: try text(d.id, "id", required: true), name: name,
                         version: try text(d.version, "version", required: true), vendor: try text(d.vendor, "vendor", required: false),
                         summary: try text(d.description, "description", required: false), features: features,
                         file: file, source: plugin.source, abiVersion: plugin.abiVersionString, factory: factory)
    }

    private func refuse(_ reason: String) -> PluginLoadError {
        PluginLoadError(file: file, "\(kind.rawValue): \(reason)")
    }
}

/// The rule for component names: what users can type in a YAML value.
public enum ComponentName {
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x2E || c == 0x2D
        }
    }
}
