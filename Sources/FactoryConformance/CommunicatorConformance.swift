import CFactoryABI
import FactoryHost
import Synchronization

/// The communicator suite of `factory plugins check` (kinds/communicator.h). Run it on every rank at once
/// (`mpirun -np 2 factory plugins check libFactoryPluginCommunicatorMPI.so`); alone it checks a run of one.
/// Unlike the other kinds' probes these run in the checking process, in order, on one instance: a process
/// joins a run once (MPI starts once), and every rank must call the same collectives in the same order.
/// Each probe ends with an agreement over the ranks, so one rank's failure fails all of them.
enum CommunicatorConformance {
    /// The one instance of each component the probes share (joining the run is once per process).
    private static let instances = Mutex<[String: CommunicatorInstance]>([:])

    static func instance(_ c: Component) throws -> CommunicatorInstance {
        try instances.withLock { all in
            if let i = all[c.file + "/" + c.name] { return i }
            let i = try CommunicatorInstance(c)
            all[c.file + "/" + c.name] = i
            return i
        }
    }

    /// The run's verdict on a rank's check: passed only where every rank passed.
    static func agreed(_ comm: CommunicatorInstance, _ passed: Bool, _ detail: String) -> Isolation.Outcome {
        do {
            let verdicts = try comm.allgather([passed ? 1 : 0])
            let failing = verdicts.indices.filter { verdicts[$0] != [1] }
            if failing.isEmpty { return .init(passed: true, detail: detail) }
            return .init(passed: false, detail: passed ? "rank(s) \(failing) failed this probe" : detail)
        } catch {
            return .init(passed: false, detail: "\(detail); and the ranks could not agree: \(error)")
        }
    }

    static func probe(_ c: Component, _ body: (CommunicatorInstance) throws -> (Bool, String)) -> Isolation.Outcome {
        let comm: CommunicatorInstance
        do { comm = try instance(c) } catch { return .init(passed: false, detail: "create: \(error)") }
        let (passed, detail): (Bool, String)
        do { (passed, detail) = try body(comm) } catch { (passed, detail) = (false, "\(error)") }
        return agreed(comm, passed, detail)
    }

    static func joins(_ c: Component) -> Isolation.Outcome {
        probe(c) { comm in
            let ranks = try comm.allgather(withUnsafeBytes(of: Int32(comm.rank).littleEndian, Array.init))
            let seen = ranks.map { $0.withUnsafeBytes { Int(Int32(littleEndian: $0.loadUnaligned(as: Int32.self))) } }
            guard seen == Array(0..<comm.worldSize) else { return (false, "ranks reported \(seen), expected 0..<\(comm.worldSize)") }
            return (true, "rank \(comm.rank) of \(comm.worldSize) (local \(comm.localRank) of \(comm.localSize)), \(comm.transport)")
        }
    }

    /// Rank r's value at i: distinct per rank and position, exactly representable sums for small worlds.
    static func value(_ r: Int, _ i: Int) -> Float { Float((i % 97) - 48) * 0.125 + Float(r + 1) * 0.5 }

    static func sums(_ c: Component) -> Isolation.Outcome {
        probe(c) { comm in
            let n = 10_007, world = comm.worldSize
            var sum = (0..<n).map { value(comm.rank, $0) }, mean = sum
            try sum.withUnsafeMutableBufferPointer { try comm.allreduce($0, .sum) }
            try mean.withUnsafeMutableBufferPointer { try comm.allreduce($0, .mean) }
            for i in 0..<n {
                let expected = (0..<world).reduce(Float(0)) { $0 + value($1, i) }  // exact: eighths of small integers
                guard sum[i] == expected else { return (false, "sum at \(i): \(sum[i]), expected \(expected)") }
                guard abs(mean[i] - expected / Float(world)) <= 1e-6 * max(1, abs(expected)) else {
                    return (false, "mean at \(i): \(mean[i]), expected \(expected / Float(world))")
                }
            }
            let bits = mean.map(\.bitPattern)
            let everyRank = try comm.allgather(bits.withUnsafeBytes(Array.init))
            guard everyRank.allSatisfy({ $0 == everyRank[0] }) else { return (false, "the mean differs between ranks in its bits") }
            return (true, "\(n) floats summed and averaged over \(world) rank(s), the same bits on every rank")
        }
    }

    static func startsAndWaits(_ c: Component) -> Isolation.Outcome {
        probe(c) { comm in
            let n = 4_099, world = comm.worldSize
            var a = (0..<n).map { value(comm.rank, $0) }, b = a.map { $0 * 2 }, blocking = a
            try blocking.withUnsafeMutableBufferPointer { try comm.allreduce($0, .mean) }
            try a.withUnsafeMutableBufferPointer { pa in
                try b.withUnsafeMutableBufferPointer { pb in
                    let first = try comm.startAllreduce(pa, .mean), second = try comm.startAllreduce(pb, .sum)  // two in flight
                    try second.wait()
                    try first.wait()
                }
            }
            guard a.map(\.bitPattern) == blocking.map(\.bitPattern) else { return (false, "a started mean differs from the blocking one") }
            for i in 0..<n {
                let expected = (0..<world).reduce(Float(0)) { $0 + 2 * value($1, i) }
                guard b[i] == expected else { return (false, "started sum at \(i): \(b[i]), expected \(expected)") }
            }
            return (true, "two reductions in flight, waited for out of order, equal the blocking ones")
        }
    }

    static func broadcastsAndGathers(_ c: Component) -> Isolation.Outcome {
        probe(c) { comm in
            for root in Set([0, comm.worldSize - 1]).sorted() {
                var bytes = (0..<777).map { UInt8(truncatingIfNeeded: $0 * 7 + comm.rank * 13) }
                try bytes.withUnsafeMutableBytes { try comm.broadcast($0, root: root) }
                let expected = (0..<777).map { UInt8(truncatingIfNeeded: $0 * 7 + root * 13) }
                guard bytes == expected else { return (false, "broadcast from rank \(root) left other bytes") }
            }
            let gathered = try comm.allgather((0..<33).map { UInt8(truncatingIfNeeded: $0 + comm.rank * 100) })
            for (r, bytes) in gathered.enumerated() where bytes != (0..<33).map({ UInt8(truncatingIfNeeded: $0 + r * 100) }) {
                return (false, "allgather: rank \(r)'s bytes are not in its place")
            }
            try comm.barrier()
            return (true, "broadcast from the first and last rank, allgather in rank order, barrier")
        }
    }

    static func refusesBadArguments(_ c: Component) -> Isolation.Outcome {
        probe(c) { comm in
            do {
                var byte: UInt8 = 0
                try withUnsafeMutableBytes(of: &byte) { try comm.broadcast($0, root: comm.worldSize) }
                return (false, "a broadcast from rank \(comm.worldSize) (outside the run) did not fail")
            } catch {}
            // The plugin's own checks, below the host's: a negative count and a missing buffer.
            let negative = comm.rawStatus { t, err in t.pointee.allreduce(t, nil, -1, FACTORY_REDUCE_SUM, err) }
            let missing = comm.rawStatus { t, err in t.pointee.allreduce(t, nil, 8, FACTORY_REDUCE_SUM, err) }
            guard negative.status < 0, !negative.message.isEmpty, missing.status < 0, !missing.message.isEmpty else {
                return (false, "allreduce with count -1 or no buffer: statuses \(negative.status), \(missing.status), each needs a message")
            }
            return (true, negative.message)
        }
    }
}
