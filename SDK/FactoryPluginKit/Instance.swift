import CFactoryABI

/// One live instance: the Swift object, the kind's C table and the C memory
/// the table points to. `plugin_data` holds a retained reference to the box;
/// the table's destroy() releases it and everything goes with it.
final class InstanceBox {
    let object: AnyObject
    let memory = CAllocations()
    /// The kind's info struct (factory_*_info_t), owned by `memory`.
    var info: UnsafeRawPointer?

    init(_ object: AnyObject) { self.object = object }

    /// Builds a kind table `T` whose first member is a factory_instance_t, wired to this box.
    func makeTable<T>(_ type: T.Type, fill: (UnsafeMutablePointer<T>) -> Void) -> UnsafePointer<factory_instance_t> {
        let table = memory.block(T.self)
        fill(table)
        let base = UnsafeMutableRawPointer(table).assumingMemoryBound(to: factory_instance_t.self)
        base.pointee.struct_size = UInt32(MemoryLayout<T>.size)
        base.pointee.plugin_data = Unmanaged.passRetained(self).toOpaque()
        base.pointee.destroy = { instance in
            guard let data = instance?.pointee.plugin_data else { return }
            Unmanaged<InstanceBox>.fromOpaque(data).release()
        }
        return UnsafePointer(base)
    }
}

/// The Swift object behind a kind table pointer, if it is a `T`.
func component<T>(_ table: UnsafeRawPointer?, as type: T.Type) throws -> T {
    guard let table else { throw PluginError.invalidArgument("instance pointer is NULL") }
    let base = table.assumingMemoryBound(to: factory_instance_t.self)
    guard let data = base.pointee.plugin_data,
          let object = Unmanaged<InstanceBox>.fromOpaque(data).takeUnretainedValue().object as? T
    else { throw PluginError(FACTORY_ERR_INTERNAL, "instance table does not belong to this plugin") }
    return object
}

/// The Swift object in `box`, if it is a `T`.
func component<T>(of box: InstanceBox, as type: T.Type) throws -> T {
    guard let object = box.object as? T else { throw PluginError(FACTORY_ERR_INTERNAL, "component is not a \(T.self)") }
    return object
}

/// The info struct of the instance behind `table`, or nil.
func declaredInfo<Table, Info>(_ table: UnsafePointer<Table>?, as type: Info.Type) -> UnsafePointer<Info>? {
    guard let table else { return nil }
    let base = UnsafeRawPointer(table).assumingMemoryBound(to: factory_instance_t.self)
    guard let data = base.pointee.plugin_data else { return nil }
    return Unmanaged<InstanceBox>.fromOpaque(data).takeUnretainedValue().info?.assumingMemoryBound(to: Info.self)
}
