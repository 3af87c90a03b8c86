// The gradient allreduce of a data-parallel step, in buckets started while the step's last backward still
// runs (issue 23), as torch's DDP does: the trained tensors, last layer first, are cut into buckets of
// ddp_bucket_cap_mb (25 MB by default); once every tensor of a bucket has received its last gradient of the
// step, its sums start on the communicator, and backward goes on with the layers below.
//
// When is a gradient final? Autograd adds into a leaf's gradient once per use, and a checkpointed block
// adds its parameters' gradients from an inner backward, so the graph alone cannot say. As DDP's static
// graph does, the buckets learn from a backward how many additions each tensor receives, and count them in
// the next. Buckets start in one order on every rank (a bucket waits for those before it), as MPI requires.
// If a tensor ever gets an addition after its bucket left, the ranks learn it with the step's loss and
// reduce the step again in one allreduce from the untouched local gradients: never a wrong sum.
import FactoryEngine
import FactoryHost
import Foundation

final class GradientBuckets {
    private struct Bucket {
        let members: [Int]  // indices into `tensors`
        let buffer: UnsafeMutableBufferPointer<Float>  // at a fixed address while a reduction is in flight
        var readyMembers = 0
        var pending: PendingReduction?
    }
    private let tensors: [Tensor]
    private let communicator: Communicator
    private var buckets: [Bucket] = []
    /// Each trained tensor's index in `tensors`, and the bucket of each index.
    private var indexOf: [ObjectIdentifier: Int] = [:]
    private var bucketOf: [Int]
    /// Additions each tensor receives in one backward, once a backward has shown them.
    private var expected: [Int]?
    private var counts: [Int]
    private var nextToStart = 0
    private var late = false
    /// Buckets started while backward ran, over the run so far (for the run's summary).
    private(set) var startedEarly = 0

    var bucketCount: Int { buckets.count }
    var elements: Int { tensors.reduce(0) { $0 + $1.count } }

    init(_ tensors: [Tensor], capBytes: Int, communicator: Communicator) {
        self.tensors = tensors
        self.communicator = communicator
        counts = [Int](repeating: 0, count: tensors.count)
        bucketOf = [Int](repeating: 0, count: tensors.count)
        var current: [Int] = [], size = 0
        for i in tensors.indices.reversed() {  // the model registers its first layer first; backward reaches it last
            if !current.isEmpty && size + 4 * tensors[i].count > capBytes {
                buckets.append(Bucket(members: current, buffer: .allocate(capacity: size / 4)))
                (current, size) = ([], 0)
            }
            current.append(i)
            size += 4 * tensors[i].count
        }
        if !current.isEmpty { buckets.append(Bucket(members: current, buffer: .allocate(capacity: size / 4))) }
        for (b, bucket) in buckets.enumerated() {
            for i in bucket.members { (indexOf[ObjectIdentifier(tensors[i])], bucketOf[i]) = (i, b) }
        }
    }

    deinit {
        for bucket in buckets { bucket.buffer.deallocate() }
    }

    /// Runs one micro-batch's backward while counting every tensor's additions; `last`: the step's last
    /// micro-batch on this rank, whose backward starts buckets as they complete.
    func backward(last: Bool, _ body: () throws -> Void) rethrows {
        counts = [Int](repeating: 0, count: tensors.count)
        let context = ExecutionContext.current
        let armed = last && expected != nil
        if armed {
            for i in tensors.indices where expected![i] == 0 { markReady(i) }
        }
        context.gradientAccumulated = { [unowned self] t in
            guard let i = self.indexOf[ObjectIdentifier(t)] else { return }
            self.counts[i] += 1
            guard armed else { return }
            if self.bucketOf[i] < self.nextToStart || self.counts[i] > self.expected![i] {
                self.late = true  // an addition after its bucket left: the step is reduced again at the end
            } else if self.counts[i] == self.expected![i] {
                self.markReady(i)
            }
        }
        defer { context.gradientAccumulated = nil }
        try body()
        if expected == nil { expected = counts }
    }

    private func markReady(_ i: Int) {
        buckets[bucketOf[i]].readyMembers += 1
        while nextToStart < buckets.count && buckets[nextToStart].readyMembers == buckets[nextToStart].members.count {
            try? start(nextToStart)  // a failure shows again, and is thrown, when finish() starts or waits
            if buckets[nextToStart].pending == nil { return }
            startedEarly += 1
            nextToStart += 1
        }
    }

    private func start(_ b: Int) throws {
        let buffer = buckets[b].buffer
        var offset = 0
        for i in buckets[b].members {
            let t = tensors[i]
            if let g = t.grad { (buffer.baseAddress! + offset).update(from: g.contiguous().data, count: t.count) }
            else { (buffer.baseAddress! + offset).update(repeating: 0, count: t.count) }
            offset += t.count
        }
        buckets[b].pending = try communicator.startAllreduce(buffer, .sum)
    }

    /// After the step's backward passes: the buckets not started yet started in order, all awaited, then
    /// `scalars` summed over the ranks with whether any rank saw a late addition. The gradients become the
    /// sums — from the buckets, or, after a late addition anywhere, from one allreduce of the local gradients
    /// (`again`). Returns the summed scalars.
    func finish(scalars: [Double], again: ([Double]) throws -> [Double]) throws -> [Double] {
        defer {
            for b in buckets.indices { (buckets[b].readyMembers, buckets[b].pending) = (0, nil) }
            (nextToStart, late) = (0, false)
        }
        for b in nextToStart..<buckets.count { try start(b) }
        for b in buckets.indices { try buckets[b].pending?.wait() }
        var tail = scalars.map { Float($0) } + [late ? 1 : 0]
        try tail.withUnsafeMutableBufferPointer { try communicator.allreduce($0, .sum) }
        if tail.last! > 0 { return try again(scalars) }
        for bucket in buckets {
            var offset = 0
            for i in bucket.members {
                let t = tensors[i], g = Tensor(shape: t.shape)
                g.data.update(from: bucket.buffer.baseAddress! + offset, count: t.count)
                t.grad = g
                offset += t.count
            }
        }
        return tail.dropLast().map { Double($0) }
    }
}
