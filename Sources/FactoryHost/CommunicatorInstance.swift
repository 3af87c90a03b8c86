import CFactoryABI
import FactoryJSON

/// A communicator plugin instance seen from the host (kinds/communicator.h, ABI 1.10): the Communicator
/// protocol over the C table. Creating one joins the run (the MPI plugin initialises MPI then).
public final class CommunicatorInstance: ComponentInstance, Communicator {
    private var c: UnsafeMutablePointer<factory_communicator_t> {
        UnsafeMutablePointer(mutating: UnsafeRawPointer(base).assumingMemoryBound(to: factory_communicator_t.self))
    }
    public private(set) var rank = 0, worldSize = 1, localRank = 0, localSize = 1
    public private(set) var transport = ""

    public override init(_ component: Component, config: JSON = .object(JSONObject())) throws {
        try super.init(component, config: config)
        guard has(factory_communicator_t.self, \.allgather) else {
            throw PluginCallError(component: component.name, call: "create", status: FACTORY_ERR_INTERNAL.rawValue,
                                  message: "instance table is \(base.pointee.struct_size) bytes, too small for a communicator")
        }
        guard let infoFn = c.pointee.info, let info = infoFn(c), Int(info.pointee.struct_size) >= MemoryLayout<factory_communicator_info_t>.size else {
            throw PluginCallError(component: component.name, call: "info", status: FACTORY_ERR_INTERNAL.rawValue, message: "no well-formed info struct")
        }
        let i = info.pointee
        guard i.world_size >= 1, i.rank >= 0, i.rank < i.world_size, i.local_size >= 1, i.local_rank >= 0, i.local_rank < i.local_size else {
            throw PluginCallError(component: component.name, call: "info", status: FACTORY_ERR_INTERNAL.rawValue,
                                  message: "rank \(i.rank) of \(i.world_size), local rank \(i.local_rank) of \(i.local_size): not a place in a run")
        }
        (rank, worldSize, localRank, localSize) = (Int(i.rank), Int(i.world_size), Int(i.local_rank), Int(i.local_size))
        transport = i.transport.map { String(cString: $0) } ?? component.name
    }

    private func cOp(_ op: ReduceOp) -> factory_reduce_op_t { op == .sum ? FACTORY_REDUCE_SUM : FACTORY_REDUCE_MEAN }

    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReduceOp) throws {
        guard let f = c.pointee.allreduce else { throw missing("allreduce") }
        try call("allreduce") { err in f(c, buffer.baseAddress, Int64(buffer.count), cOp(op), err) }
    }

    public func startAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReduceOp) throws -> PendingReduction {
        guard let f = c.pointee.allreduce_start else { throw missing("allreduce_start") }
        var reduction: OpaquePointer?
        try call("allreduce_start") { err in f(c, buffer.baseAddress, Int64(buffer.count), cOp(op), &reduction, err) }
        guard let reduction else { throw missing("a reduction from allreduce_start") }
        return Pending(self, reduction)
    }

    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws {
        guard let f = c.pointee.broadcast else { throw missing("broadcast") }
        guard root >= 0 && root < worldSize else { throw CommunicatorError("broadcast from rank \(root): the run has ranks 0..<\(worldSize)") }
        try call("broadcast") { err in f(c, bytes.baseAddress, Int64(bytes.count), Int32(root), err) }
    }

    public func barrier() throws {
        guard let f = c.pointee.barrier else { throw missing("barrier") }
        try call("barrier") { err in f(c, err) }
    }

    public func allgather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        guard let f = c.pointee.allgather else { throw missing("allgather") }
        var out = [UInt8](repeating: 0, count: bytes.count * worldSize)
        try bytes.withUnsafeBytes { b in
            try out.withUnsafeMutableBytes { o in try call("allgather") { err in f(c, b.baseAddress, Int64(bytes.count), o.baseAddress, err) } }
        }
        return (0..<worldSize).map { Array(out[($0 * bytes.count)..<(($0 + 1) * bytes.count)]) }
    }

    /// Calls the C table directly (the conformance suite's bad-argument probes, which the checks above would
    /// stop before the plugin): the status and the plugin's message.
    public func rawStatus(_ body: (UnsafeMutablePointer<factory_communicator_t>, OpaquePointer?) -> factory_status_t) -> (status: Int32, message: String) {
        let (status, slot) = ErrorSlot.capture { err in body(c, err) }
        return (status, slot.message ?? "")
    }

    private func missing(_ what: String) -> PluginCallError {
        PluginCallError(component: component.name, call: what, status: FACTORY_ERR_INTERNAL.rawValue, message: "the plugin provides no \(what)")
    }

    /// An allreduce_start's reduction: wait() once; a reduction never waited for is waited for when released.
    private final class Pending: PendingReduction {
        let owner: CommunicatorInstance
        var reduction: OpaquePointer?
        init(_ owner: CommunicatorInstance, _ reduction: OpaquePointer) { (self.owner, self.reduction) = (owner, reduction) }

        func wait() throws {
            guard let r = reduction else { throw CommunicatorError("wait: this reduction was waited for already") }
            reduction = nil
            guard let f = owner.c.pointee.wait else { throw owner.missing("wait") }
            try owner.call("wait") { err in f(owner.c, r, err) }
        }

        deinit { if reduction != nil { try? wait() } }
    }
}
