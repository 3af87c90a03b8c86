// embedding: gather rows of a [V, D] table; backward scatter-adds into the table's gradient.

/// Rows `ids` of `weight` [V, D] → [ids.count, D].
public func embedding(_ weight: Tensor, ids: [Int]) -> Tensor {
    precondition(weight.rank == 2, "embedding: weight must be [V, D], got \(weight.shape)")
    let V = weight.shape[0], D = weight.shape[1]
    let w = weight.contiguous()
    let out = Tensor(shape: [ids.count, D])
    for (i, id) in ids.enumerated() {
        precondition(id >= 0 && id < V, "embedding: id \(id) outside the vocabulary of \(V)")
        (out.data + i * D).update(from: w.data + id * D, count: D)
    }
    return out.recorded("embedding", [w]) { g in
        let gc = g.contiguous(), dw = Tensor(shape: [V, D], zeroed: true)
        for (i, id) in ids.enumerated() {
            map8(dw.data + id * D, gc.data + i * D, dw.data + id * D, 0..<D) { $0 + $1 }
        }
        return [dw]
    }
}
