// ZeRO stage 1 (`zero_stage: 1`, issue 23): in a data-parallel run each rank keeps AdamW's moments for its
// own share of the trained tensors only. Every rank still holds the whole summed gradient (the allreduce
// is unchanged) and clips with the same norm; each rank then updates the tensors it owns and broadcasts
// them, so every rank ends the step with the same weights — the same bits as without sharding, since each
// element takes the same AdamW arithmetic on the same gradient. The moments, 2 × 4 bytes per trained
// parameter, shrink to about 1/N per rank: what DeepSpeed's ZeRO-1 saves. A checkpoint gathers them to
// rank 0 and is written as a single process writes it, so any world size can resume from it.
import FactoryEngine
import FactoryHost

/// Which rank owns each optimizer parameter, and the collectives that keep the ranks' copies equal.
final class OptimizerShards {
    let parallel: DataParallel
    /// The owning rank of each of the optimizer's parameters, in its order.
    let owners: [Int]

    /// Assigns the tensors largest first, each to the rank holding the fewest elements so far (the lowest
    /// rank on a tie): deterministic, so every rank computes the same owners.
    init(_ parameters: [OptimizedParameter], parallel: DataParallel) {
        self.parallel = parallel
        var load = [Int](repeating: 0, count: parallel.worldSize)
        var owners = [Int](repeating: 0, count: parameters.count)
        let order = parameters.indices.sorted { parameters[$0].tensor.count != parameters[$1].tensor.count
            ? parameters[$0].tensor.count > parameters[$1].tensor.count : $0 < $1 }
        for i in order {
            let r = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 } ?? 0
            owners[i] = r
            load[r] += parameters[i].tensor.count
        }
        self.owners = owners
        for (p, owner) in zip(parameters, owners) { p.owned = owner == parallel.rank }
    }

    /// The elements whose moments this rank keeps, and all of them.
    func ownedElements(_ parameters: [OptimizedParameter]) -> (mine: Int, all: Int) {
        (zip(parameters, owners).reduce(0) { $0 + ($1.1 == parallel.rank ? $1.0.tensor.count : 0) }, parameters.reduce(0) { $0 + $1.tensor.count })
    }

    /// After every rank updated its own tensors: each tensor broadcast from its owner (a collective).
    func shareUpdates(_ parameters: [OptimizedParameter]) throws {
        for (p, owner) in zip(parameters, owners) {
            let t = p.tensor  // a trained leaf: contiguous
            try parallel.communicator.broadcast(UnsafeMutableRawBufferPointer(start: t.data, count: 4 * t.count), root: owner)
        }
    }

    /// Every parameter's moments, each broadcast from its owner (a collective): rank 0 gets them all, for a
    /// checkpoint; the other ranks get nil and keep nothing beyond the tensor in flight.
    func gatherMoments(_ parameters: [OptimizedParameter]) throws -> [(m: Tensor, v: Tensor)]? {
        var gathered: [(m: Tensor, v: Tensor)] = []
        for (p, owner) in zip(parameters, owners) {
            let (m, v) = owner == parallel.rank ? p.moments : (Tensor(shape: p.tensor.shape), Tensor(shape: p.tensor.shape))
            for t in [m, v] { try parallel.communicator.broadcast(UnsafeMutableRawBufferPointer(start: t.data, count: 4 * t.count), root: owner) }
            if parallel.isMain { gathered.append((m, v)) }
        }
        return parallel.isMain ? gathered : nil
    }
}
