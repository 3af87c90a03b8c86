// Data-parallel training over a communicator plugin (issue 23): `mpirun -np N factory run config.yaml`
// starts N ranks; every rank loads the model and the whole dataset, and each optimizer step is the one a
// single process would take with per_device_train_batch_size × N: every micro-batch of that plan is shared
// among the N ranks by padded length, each rank runs forward and backward on its share with the loss normalised by
// the whole step's labelled tokens, and the gradients are summed over the ranks — the single process's
// gradient, summed in another order — before every rank clips and applies the same AdamW step. Rank 0
// alone writes output_dir and prints.
import FactoryConfig
import FactoryEngine
import FactoryHost
import FactoryPipeline
import Foundation

/// The ranks of a training run and what they share. One process: the host's LocalCommunicator.
public final class DataParallel {
    public let communicator: Communicator
    public var rank: Int { communicator.rank }
    public var worldSize: Int { communicator.worldSize }
    /// Rank 0: the one that prints, logs and writes output_dir.
    public var isMain: Bool { rank == 0 }
    /// Time spent in the gradient allreduce (waiting for the other ranks included), and bytes reduced, so far.
    public private(set) var reduceSeconds = 0.0, reducedBytes = 0, reductions = 0

    /// The largest bucket of gradients reduced at once while backward runs (`ddp_bucket_cap_mb`, 25 MB as in torch).
    public var bucketCapBytes = 25 << 20
    private var buckets: GradientBuckets?

    public init(_ communicator: Communicator = LocalCommunicator()) {
        self.communicator = communicator
    }

    /// Runs one micro-batch's backward of `tensors`' gradients; on the step's last micro-batch of this rank,
    /// buckets of finished gradients start their allreduce while backward goes on (GradientBuckets).
    public func backward(of tensors: [Tensor], last: Bool, _ body: () throws -> Void) throws {
        guard worldSize > 1 else { return try body() }
        try buckets(of: tensors).backward(last: last, body)
    }

    /// Ends a step's reduction: every gradient of `tensors` (a missing one counts as zeros) and `scalars`
    /// summed over the ranks, from the buckets `backward` started (or, before any backward, in one
    /// allreduce). Returns the summed scalars. One process: nothing moves.
    public func finishStep(gradientsOf tensors: [Tensor], scalars: [Double]) throws -> [Double] {
        guard worldSize > 1 else { return scalars }
        let reducing = buckets(of: tensors), started = Date()
        let sums = try reducing.finish(scalars: scalars) { try sum(gradientsOf: tensors, scalars: $0) }
        (reduceSeconds, reducedBytes, reductions) = (reduceSeconds + Date().timeIntervalSince(started), reducedBytes + 4 * reducing.elements, reductions + 1)
        return sums
    }

    /// The run's gradient buckets, cut at the first step (the trained tensors do not change during a run).
    private func buckets(of tensors: [Tensor]) -> GradientBuckets {
        if let made = buckets { return made }
        let made = GradientBuckets(tensors, capBytes: bucketCapBytes, communicator: communicator)
        buckets = made
        return made
    }

    /// Whether Open MPI's mpirun started this process (it gives every rank OMPI_COMM_WORLD_SIZE).
    public static var launchedByMPI: Bool { ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil }
    /// Whether this process prints for the run before it joins it (notes, the plan): not under mpirun, or its rank 0.
    public static var speaksForTheRun: Bool { (ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_RANK"] ?? "0") == "0" }

    /// This process's place in the run: the `communicator` key's plugin when named, the `mpi` plugin when
    /// mpirun started the process, else one process. Under mpirun with world size > 1 each rank takes
    /// cores / (ranks on this machine) threads unless `threads` says otherwise.
    public static func join(_ config: RunConfig, plugins: PluginSet) throws -> DataParallel {
        let environment = ProcessInfo.processInfo.environment
        let named = config.string("communicator")
        guard named != nil || launchedByMPI else { return DataParallel() }
        if named == "local" {
            if let size = environment["OMPI_COMM_WORLD_SIZE"], size != "1" {
                throw ConfigProblem("communicator: local under mpirun with \(size) processes: each would train alone and write the same output_dir; drop the key or name a communicator plugin")
            }
            return DataParallel()
        }
        let name = named ?? "mpi"
        let component: Component
        do { component = try plugins.registry(.communicator).lookup(name) } catch {
            throw ConfigProblem("communicator: \(error)" + (named == nil ? " (mpirun started this process: Factory needs the mpi communicator plugin, libFactoryPluginCommunicatorMPI.so)" : ""))
        }
        let parallel = DataParallel(try CommunicatorInstance(component))
        if parallel.worldSize > 1, config.int("threads") == nil, parallel.communicator.localSize > 1 {
            Threads.set(max(1, ProcessInfo.processInfo.activeProcessorCount / parallel.communicator.localSize))
        }
        return parallel
    }

    /// This rank's examples of a micro-batch, shared by padded length: longest first, each example goes to
    /// the rank whose padded tokens (rows × its longest row, what its forward and backward cost) would grow
    /// least, the lowest rank on a tie. No rank pads more than ⌈n / N⌉ rows of the longest example, so none
    /// needs more memory than per_device_train_batch_size rows; counts may differ, and a rank may get none.
    /// Any sharing sums to the same gradient; this one keeps the ranks from waiting for each other.
    public func share(_ examples: [Int], length: (Int) -> Int) -> [Int] {
        let sorted = examples.enumerated().map { ($0.element, length($0.element), $0.offset) }
            .sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.2 < $1.2 }
        var rows = [Int](repeating: 0, count: worldSize), longest = [Int](repeating: 0, count: worldSize)
        var mine: [Int] = []
        for (example, n, _) in sorted {
            let grown = (0..<worldSize).map { (rows[$0] + 1) * max(longest[$0], n) }
            let r = grown.indices.min { grown[$0] != grown[$1] ? grown[$0] < grown[$1] : $0 < $1 } ?? 0
            (rows[r], longest[r]) = (rows[r] + 1, max(longest[r], n))
            if r == rank { mine.append(example) }
        }
        return mine
    }

    /// Sums every tensor's gradient (a missing one counts as zeros) and `scalars` over the ranks, in one
    /// allreduce; the gradients are replaced by the sums, the summed scalars returned. Every rank gets the
    /// same bits. One process: nothing moves.
    public func sum(gradientsOf tensors: [Tensor], scalars: [Double]) throws -> [Double] {
        guard worldSize > 1 else { return scalars }
        let total = tensors.reduce(0) { $0 + $1.count } + scalars.count
        var buffer = [Float](repeating: 0, count: total)
        var offset = 0
        for t in tensors {
            if let g = t.grad {
                let gc = g.contiguous()
                buffer.withUnsafeMutableBufferPointer { (b: inout UnsafeMutableBufferPointer<Float>) in
                    (b.baseAddress! + offset).update(from: gc.data, count: t.count)
                }
            }
            offset += t.count
        }
        for (i, s) in scalars.enumerated() { buffer[offset + i] = Float(s) }
        let started = Date()
        try buffer.withUnsafeMutableBufferPointer { try communicator.allreduce($0, .sum) }
        (reduceSeconds, reducedBytes, reductions) = (reduceSeconds + Date().timeIntervalSince(started), reducedBytes + 4 * total, reductions + 1)
        offset = 0
        for t in tensors {
            let g = Tensor(shape: t.shape)
            buffer.withUnsafeBufferPointer { b in g.data.update(from: b.baseAddress! + offset, count: t.count) }
            t.grad = g
            offset += t.count
        }
        return (0..<scalars.count).map { Double(buffer[offset + $0]) }
    }

    /// Whether `flag` holds on any rank (a collective: every rank calls it at the same point).
    public func anyRank(_ flag: Bool) throws -> Bool {
        guard worldSize > 1 else { return flag }
        var value: [Float] = [flag ? 1 : 0]
        try value.withUnsafeMutableBufferPointer { try communicator.allreduce($0, .sum) }
        return value[0] > 0
    }

    /// One line on the gradient allreduces so far, with every rank's time in them (waiting for the slowest
    /// rank included): a collective, so every rank calls it; rank 0 prints it at the end of a run.
    public func summary() throws -> String {
        var seconds = reduceSeconds
        let all = try communicator.allgather(withUnsafeBytes(of: &seconds) { Array($0) }).map { bytes in
            bytes.withUnsafeBytes { $0.loadUnaligned(as: Double.self) }
        }
        let early = buckets.map { String(format: " in %d bucket(s), %d of %d started while backward ran", $0.bucketCount, $0.startedEarly, $0.bucketCount * reductions) } ?? ""
        return String(format: "data parallel: %d step reduction(s) of %.2f MB%@; time after backward until the sums arrived (waiting for the slowest rank included) by rank: %@",
                      reductions, Double(reducedBytes) / Double(max(reductions, 1)) / 1e6, early,
                      all.map { String(format: "%.2f s (%.0f ms per step)", $0, 1000 * $0 / Double(max(reductions, 1))) }.joined(separator: ", "))
    }

    /// Rank 0 runs `body`; every rank then learns whether it succeeded (the others throw rank 0's failure
    /// as theirs, in one line), so no rank waits for a rank that stopped.
    public func onMain<T>(_ what: String, _ body: () throws -> T) throws -> T? {
        guard worldSize > 1 else { return try body() }
        var result: T?, failure: Error?
        if isMain {
            do { result = try body() } catch { failure = error }
        }
        var message = Array((failure.map { "\($0)" } ?? "").utf8.prefix(1024))
        var length = Int32(message.count)
        try withUnsafeMutableBytes(of: &length) { try communicator.broadcast($0, root: 0) }
        if !isMain { message = [UInt8](repeating: 0, count: Int(length)) }
        try message.withUnsafeMutableBytes { try communicator.broadcast($0, root: 0) }
        if let failure { throw failure }
        if length > 0 { throw TrainingError("rank 0 stopped (\(what)): \(String(decoding: message, as: UTF8.self))") }
        return result
    }
}
