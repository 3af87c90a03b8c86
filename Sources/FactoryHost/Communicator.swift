/// How an allreduce combines the ranks' buffers.
public enum ReduceOp: Sendable {
    /// Σ over ranks.
    case sum
    /// Σ over ranks / world size.
    case mean
}

/// The collectives of a data-parallel run (kinds/communicator.h): a communicator plugin's instance, or the
/// host's own `LocalCommunicator` (one process). Every rank calls the same collectives in the same order;
/// results are the same bits on every rank. Used by one thread at a time.
public protocol Communicator: AnyObject {
    /// This process's rank, 0 ..< worldSize; rank 0 logs and writes outputs.
    var rank: Int { get }
    /// Processes in the run.
    var worldSize: Int { get }
    /// Rank and process count on this machine (for the thread count per rank).
    var localRank: Int { get }
    var localSize: Int { get }
    /// One line for logs.
    var transport: String { get }
    /// Replaces `buffer` by `op` over every rank's buffer.
    func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReduceOp) throws
    /// Starts the same allreduce; the result is in `buffer` once the returned reduction's wait() returns.
    /// `buffer` must stay valid and untouched until then.
    func startAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReduceOp) throws -> PendingReduction
    /// Copies root's bytes into every other rank's.
    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws
    /// Returns once every rank has called it.
    func barrier() throws
    /// Every rank's `bytes` (the same count on each), in rank order.
    func allgather(_ bytes: [UInt8]) throws -> [[UInt8]]
}

/// An allreduce in flight: wait for it exactly once.
public protocol PendingReduction: AnyObject {
    /// Completes the reduction (the result is then in its buffer).
    func wait() throws
}

/// The host's communicator for a run of one process: every collective is the identity.
public final class LocalCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var worldSize: Int { 1 }
    public var localRank: Int { 0 }
    public var localSize: Int { 1 }
    public var transport: String { "local (one process)" }
    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReduceOp) throws {}
    public func startAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>, _ op: ReduceOp) throws -> PendingReduction { Done() }
    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws {
        guard root == 0 else { throw CommunicatorError("broadcast from rank \(root): a run of one process has rank 0 only") }
    }
    public func barrier() throws {}
    public func allgather(_ bytes: [UInt8]) throws -> [[UInt8]] { [bytes] }

    private final class Done: PendingReduction {
        func wait() throws {}
    }
}

/// A collective that cannot be done as asked (the host's checks, before any plugin call).
public struct CommunicatorError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
