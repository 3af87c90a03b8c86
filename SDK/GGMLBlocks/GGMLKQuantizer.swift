// ggml's reference K-quant quantizers (quantize_row_q{2,3,4,5,6}_K_ref), step for step: per sub-block a
// search for the scale (and min) with the least weighted error, then the sub-block scales quantized to
// 4, 6 or 8 bits under an fp16 super-block scale, then every value requantized with the scales as stored.
// Float operations in ggml's order (no FMA), nearest_int as ggml's bit trick.

enum GGMLKQuantizer {
    /// ggml's nearest_int: round half to even through the 1.5·2^23 trick.
    @inline(__always)
    static func nearestInt(_ f: Float) -> Int {
        let v = f + 12_582_912
        return Int(Int32(bitPattern: v.bitPattern) & 0x007F_FFFF) - 0x0040_0000
    }

    /// Swift never fuses a multiply and an add on its own; the marker keeps ggml's rounding points visible.
    @inline(__always) static func noFMA(_ x: Float) -> Float { x }

    /// make_qkx2_quants: 0 ≤ L ≤ nmax with x ≈ scale·L − min; returns (scale, −min as ggml's the_min).
    /// `useMAD`: the error is weighted |diff| (Q2_K) instead of diff².
    static func qkx2(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ weights: UnsafePointer<Float>, _ L: UnsafeMutablePointer<UInt8>,
                     rmin: Float, rdelta: Float, nstep: Int, useMAD: Bool = false) -> (scale: Float, theMin: Float) {
        @inline(__always) func cost(_ diff: Float) -> Float { useMAD ? abs(diff) : noFMA(diff * diff) }
        var lo = x[0], hi = x[0], sumW = weights[0], sumX = noFMA(sumW * x[0])
        for i in 1..<n {
            if x[i] < lo { lo = x[i] }
            if x[i] > hi { hi = x[i] }
            let w = weights[i]
            sumW += w
            sumX += noFMA(w * x[i])
        }
        if lo > 0 { lo = 0 }
        if hi == lo {
            for i in 0..<n { L[i] = 0 }
            return (0, -lo)
        }
        var iscale = Float(nmax) / (hi - lo), scale = 1 / iscale, bestError: Float = 0
        for i in 0..<n {
            let l = nearestInt(noFMA(iscale * (x[i] - lo)))
            L[i] = UInt8(max(0, min(nmax, l)))
            let diff = noFMA(scale * Float(L[i])) + lo - x[i]
            bestError += noFMA(weights[i] * cost(diff))
        }
        var aux = [UInt8](repeating: 0, count: n)
        for step in 0...nstep {
            iscale = (rmin + noFMA(rdelta * Float(step)) + Float(nmax)) / (hi - lo)
            var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
            for i in 0..<n {
                let l = max(0, min(nmax, nearestInt(noFMA(iscale * (x[i] - lo)))))
                aux[i] = UInt8(l)
                let w = weights[i], fl = Float(l)
                sumL += noFMA(w * fl)
                sumL2 += noFMA(noFMA(w * fl) * fl)
                sumXL += noFMA(noFMA(w * fl) * x[i])
            }
            let D = noFMA(sumW * sumL2) - noFMA(sumL * sumL)
            if D > 0 {
                var thisScale = (noFMA(sumW * sumXL) - noFMA(sumX * sumL)) / D
                var thisMin = (noFMA(sumL2 * sumX) - noFMA(sumL * sumXL)) / D
                if thisMin > 0 {
                    thisMin = 0
                    thisScale = sumXL / sumL2
                }
                var error: Float = 0
                for i in 0..<n {
                    let diff = noFMA(thisScale * Float(aux[i])) + thisMin - x[i]
                    error += noFMA(weights[i] * cost(diff))
                }
                if error < bestError {
                    for i in 0..<n { L[i] = aux[i] }
                    (bestError, scale, lo) = (error, thisScale, thisMin)
                }
            }
        }
        return (scale, -lo)
    }

    /// What Q4_K and Q5_K share: 8 sub-blocks of 32 values 0…nmax, 6-bit scales and mins (12 bytes at 4) under
    /// fp16 d and dmin (at 0 and 2). Writes those and returns every value's requantized code.
    static func scaleMinBlock(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, nmax: Int, rmin: Float, nstep: Int) -> [UInt8] {
        var L = [UInt8](repeating: 0, count: 256), weights = [Float](repeating: 0, count: 32)
        var scales = [Float](repeating: 0, count: 8), mins = [Float](repeating: 0, count: 8)
        var maxScale: Float = 0, maxMin: Float = 0
        for j in 0..<8 {
            let sub = x + 32 * j
            var sumX2: Float = 0
            for l in 0..<32 { sumX2 += noFMA(sub[l] * sub[l]) }
            let avX = (sumX2 / 32).squareRoot()
            for l in 0..<32 { weights[l] = avX + abs(sub[l]) }
            let (scale, theMin) = weights.withUnsafeBufferPointer { w in
                L.withUnsafeMutableBufferPointer { qkx2(32, nmax, sub, w.baseAddress!, $0.baseAddress! + 32 * j, rmin: rmin, rdelta: 0.1, nstep: nstep) }
            }
            (scales[j], mins[j]) = (scale, theMin)
            if scale > maxScale { maxScale = scale }
            if theMin > maxMin { maxMin = theMin }
        }
        let inverseScale: Float = maxScale > 0 ? 63 / maxScale : 0, inverseMin: Float = maxMin > 0 ? 63 / maxMin : 0
        let s = y + 4
        for i in 0..<12 { s.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
        func byte(_ i: Int) -> UInt8 { s.load(fromByteOffset: i, as: UInt8.self) }
        func set(_ i: Int, _ v: UInt8) { s.storeBytes(of: v, toByteOffset: i, as: UInt8.self) }
        for j in 0..<8 {
            let ls = UInt8(min(63, UInt8(truncatingIfNeeded: nearestInt(noFMA(inverseScale * scales[j])))))
            let lm = UInt8(min(63, UInt8(truncatingIfNeeded: nearestInt(noFMA(inverseMin * mins[j])))))
            if j < 4 {
                set(j, ls)
                set(j + 4, lm)
            } else {
                set(j + 4, (ls & 0xF) | ((lm & 0xF) << 4))
                set(j - 4, byte(j - 4) | ((ls >> 4) << 6))
                set(j, byte(j) | ((lm >> 4) << 6))
            }
        }
        y.storeBytes(of: Float16(maxScale / 63), as: Float16.self)
        y.storeBytes(of: Float16(maxMin / 63), toByteOffset: 2, as: Float16.self)
        let d = Float(y.loadUnaligned(as: Float16.self)), dmin = Float(y.loadUnaligned(fromByteOffset: 2, as: Float16.self))
        for j in 0..<8 {
            let (sc, m) = GGMLKQuants.scaleMin(j, UnsafeRawPointer(s))
            let dj = d * Float(sc)
            if dj == 0 { continue }
            let dm = dmin * Float(m)
            for i in 0..<32 { L[32 * j + i] = UInt8(max(0, min(nmax, nearestInt((x[32 * j + i] + dm) / dj)))) }
        }
        return L
    }

    /// Q4_K: 4-bit codes, 32 bytes per 64 values (low nibbles the first 32, high the next) from byte 16.
    static func q4K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        let L = scaleMinBlock(x, y, nmax: 15, rmin: -1, nstep: 20)
        for (step, j) in stride(from: 0, to: 256, by: 64).enumerated() {
            for l in 0..<32 { y.storeBytes(of: L[j + l] | (L[j + l + 32] << 4), toByteOffset: 16 + 32 * step + l, as: UInt8.self) }
        }
    }

    /// Q5_K: 5-bit codes: the fifth bits in 32 bytes from 16 (bit 2c of byte l for value 64c + l, bit 2c + 1 for
    /// value 64c + 32 + l), the low nibbles as Q4_K's from 48.
    static func q5K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        let L = scaleMinBlock(x, y, nmax: 31, rmin: -0.5, nstep: 15)
        var high = [UInt8](repeating: 0, count: 32)
        for (c, n) in stride(from: 0, to: 256, by: 64).enumerated() {
            for j in 0..<32 {
                var l1 = L[n + j], l2 = L[n + j + 32]
                if l1 > 15 { l1 -= 16; high[j] |= 1 << (2 * c) }
                if l2 > 15 { l2 -= 16; high[j] |= 2 << (2 * c) }
                y.storeBytes(of: l1 | (l2 << 4), toByteOffset: 48 + 32 * c + j, as: UInt8.self)
            }
        }
        for j in 0..<32 { y.storeBytes(of: high[j], toByteOffset: 16 + j, as: UInt8.self) }
    }

    /// Q2_K: 16 sub-blocks of 16, 2-bit codes, 4-bit scale and min per sub-block (bytes 0…15, scale low) under
    /// fp16 d and dmin (at 80 and 82); codes four per byte from 16 (value 128h + 32s + l in bits 2s of byte 32h + l).
    static func q2K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var L = [UInt8](repeating: 0, count: 256), weights = [Float](repeating: 0, count: 16)
        var scales = [Float](repeating: 0, count: 16), mins = [Float](repeating: 0, count: 16)
        var maxScale: Float = 0, maxMin: Float = 0
        for j in 0..<16 {
            for l in 0..<16 { weights[l] = abs(x[16 * j + l]) }
            let (scale, theMin) = weights.withUnsafeBufferPointer { w in
                L.withUnsafeMutableBufferPointer { qkx2(16, 3, x + 16 * j, w.baseAddress!, $0.baseAddress! + 16 * j, rmin: -0.5, rdelta: 0.1, nstep: 15, useMAD: true) }
            }
            (scales[j], mins[j]) = (scale, theMin)
            if scale > maxScale { maxScale = scale }
            if theMin > maxMin { maxMin = theMin }
        }
        var packed = [UInt8](repeating: 0, count: 16)
        if maxScale > 0 {
            let iscale = 15 / maxScale
            for j in 0..<16 { packed[j] = UInt8(truncatingIfNeeded: nearestInt(noFMA(iscale * scales[j]))) }
            y.storeBytes(of: Float16(maxScale / 15), toByteOffset: 80, as: Float16.self)
        } else {
            y.storeBytes(of: Float16(0), toByteOffset: 80, as: Float16.self)
        }
        if maxMin > 0 {
            let iscale = 15 / maxMin
            for j in 0..<16 { packed[j] |= UInt8(truncatingIfNeeded: nearestInt(noFMA(iscale * mins[j])) << 4) }
            y.storeBytes(of: Float16(maxMin / 15), toByteOffset: 82, as: Float16.self)
        } else {
            y.storeBytes(of: Float16(0), toByteOffset: 82, as: Float16.self)
        }
        for j in 0..<16 { y.storeBytes(of: packed[j], toByteOffset: j, as: UInt8.self) }
        let d = Float(y.loadUnaligned(fromByteOffset: 80, as: Float16.self)), dmin = Float(y.loadUnaligned(fromByteOffset: 82, as: Float16.self))
        for j in 0..<16 {
            let dj = d * Float(packed[j] & 0xF)
            if dj == 0 { continue }
            let dm = dmin * Float(packed[j] >> 4)
            for i in 0..<16 { L[16 * j + i] = UInt8(max(0, min(3, nearestInt((x[16 * j + i] + dm) / dj)))) }
        }
        for (h, j) in stride(from: 0, to: 256, by: 128).enumerated() {
            for l in 0..<32 {
                y.storeBytes(of: L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6), toByteOffset: 16 + 32 * h + l, as: UInt8.self)
            }
        }
    }

    /// make_q3_quants with do_rmse: signed codes in [−nmax, nmax) refined five rounds by coordinate descent
    /// on the weighted (x²) error; L = code + nmax; the scale.
    static func q3(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>) -> Float {
        guard let signedMax = largest(n, x, zeroing: L) else { return 0 }
        let iscale = Float(-nmax) / signedMax
        var sumLX: Float = 0, sumL2: Float = 0
        var codes = [Int](repeating: 0, count: n)
        for i in 0..<n {
            let l = max(-nmax, min(nmax - 1, nearestInt(noFMA(iscale * x[i]))))
            codes[i] = l
            let w = noFMA(x[i] * x[i])
            sumLX += noFMA(noFMA(w * x[i]) * Float(l))
            sumL2 += noFMA(noFMA(w * Float(l)) * Float(l))
        }
        for _ in 0..<5 {
            var changed = 0
            for i in 0..<n {
                let w = noFMA(x[i] * x[i])
                var slx = sumLX - noFMA(noFMA(w * x[i]) * Float(codes[i]))
                if slx > 0 {
                    var sl2 = sumL2 - noFMA(noFMA(w * Float(codes[i])) * Float(codes[i]))
                    let newL = max(-nmax, min(nmax - 1, nearestInt(noFMA(x[i] * sl2) / slx)))
                    if newL != codes[i] {
                        slx += noFMA(noFMA(w * x[i]) * Float(newL))
                        sl2 += noFMA(noFMA(w * Float(newL)) * Float(newL))
                        if sl2 > 0 && noFMA(noFMA(slx * slx) * sumL2) > noFMA(noFMA(sumLX * sumLX) * sl2) {
                            (codes[i], sumLX, sumL2) = (newL, slx, sl2)
                            changed += 1
                        }
                    }
                }
            }
            if changed == 0 { break }
        }
        for i in 0..<n { L[i] = Int8(codes[i] + nmax) }
        return sumL2 > 0 ? sumLX / sumL2 : 0
    }

    /// Q3_K: 16 sub-blocks of 16, 3-bit codes (the low two bits four per byte from 32 as Q2_K's, the third bit in
    /// 32 bytes from 0: bit b of byte m for value 32b + m), 6-bit signed scales (12 bytes at 96) under fp16 d (108).
    static func q3K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var L = [Int8](repeating: 0, count: 256), scales = [Float](repeating: 0, count: 16)
        var maxScale: Float = 0, amax: Float = 0
        for j in 0..<16 {
            scales[j] = L.withUnsafeMutableBufferPointer { q3(16, 4, x + 16 * j, $0.baseAddress! + 16 * j) }
            if abs(scales[j]) > amax { (amax, maxScale) = (abs(scales[j]), scales[j]) }
        }
        var sc = [UInt8](repeating: 0, count: 12)
        if maxScale != 0 {
            let iscale = -32 / maxScale
            for j in 0..<16 {
                var l = UInt8(truncatingIfNeeded: Int8(truncatingIfNeeded: max(-32, min(31, Int(Int8(truncatingIfNeeded: nearestInt(noFMA(iscale * scales[j])))))) + 32))
                if j < 8 { sc[j] = l & 0xF } else { sc[j - 8] |= (l & 0xF) << 4 }
                l >>= 4
                sc[j % 4 + 8] |= l << (2 * (j / 4))
            }
            y.storeBytes(of: Float16(1 / iscale), toByteOffset: 108, as: Float16.self)
        } else {
            y.storeBytes(of: Float16(0), toByteOffset: 108, as: Float16.self)
        }
        for i in 0..<12 { y.storeBytes(of: sc[i], toByteOffset: 96 + i, as: UInt8.self) }
        let d = Float(y.loadUnaligned(fromByteOffset: 108, as: Float16.self))
        for j in 0..<16 {
            let low = j < 8 ? sc[j] & 0xF : sc[j - 8] >> 4
            let scale = Int(low | (((sc[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32
            let dj = d * Float(scale)
            if dj == 0 { continue }
            for i in 0..<16 { L[16 * j + i] = Int8(max(-4, min(3, nearestInt(x[16 * j + i] / dj))) + 4) }
        }
        var hmask = [UInt8](repeating: 0, count: 32)
        for j in 0..<256 where L[j] > 3 {
            hmask[j % 32] |= 1 << (j / 32)
            L[j] -= 4
        }
        for i in 0..<32 { y.storeBytes(of: hmask[i], toByteOffset: i, as: UInt8.self) }
        for (h, j) in stride(from: 0, to: 256, by: 128).enumerated() {
            for l in 0..<32 {
                let v = UInt8(L[j + l]) | (UInt8(L[j + l + 32]) << 2) | (UInt8(L[j + l + 64]) << 4) | (UInt8(L[j + l + 96]) << 6)
                y.storeBytes(of: v, toByteOffset: 32 + 32 * h + l, as: UInt8.self)
            }
        }
    }

    /// The value of largest magnitude among x[0..<n] (the first of equals, as ggml scans); nil, with L zeroed,
    /// when every magnitude is below 1e-15 (ggml's all-zero group).
    static func largest(_ n: Int, _ x: UnsafePointer<Float>, zeroing L: UnsafeMutablePointer<Int8>) -> Float? {
        var amax: Float = 0, signedMax: Float = 0
        for i in 0..<n where abs(x[i]) > amax { (amax, signedMax) = (abs(x[i]), x[i]) }
        guard amax >= 1e-15 else {
            for i in 0..<n { L[i] = 0 }
            return nil
        }
        return signedMax
    }

    /// make_qx_quants with rmse_type 1 (weights x²): signed quants in [−nmax, nmax), L = q + nmax; the scale.
    static func qx(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>) -> Float {
        guard let signedMax = largest(n, x, zeroing: L) else { return 0 }
        func quant(_ iscale: Float, _ i: Int) -> Int { max(-nmax, min(nmax - 1, nearestInt(noFMA(iscale * x[i])))) }
        var iscale = Float(-nmax) / signedMax
        var sumLX: Float = 0, sumL2: Float = 0
        for i in 0..<n {
            let l = quant(iscale, i)
            L[i] = Int8(l + nmax)
            let w = noFMA(x[i] * x[i]), fl = Float(l)
            sumLX += noFMA(noFMA(w * x[i]) * fl)
            sumL2 += noFMA(noFMA(w * fl) * fl)
        }
        var scale: Float = sumL2 != 0 ? sumLX / sumL2 : 0
        var best = noFMA(scale * sumLX)
        for step in -9...9 where step != 0 {
            iscale = -(Float(nmax) + noFMA(0.1 * Float(step))) / signedMax
            sumLX = 0
            sumL2 = 0
            for i in 0..<n {
                let w = noFMA(x[i] * x[i]), fl = Float(quant(iscale, i))
                sumLX += noFMA(noFMA(w * x[i]) * fl)
                sumL2 += noFMA(noFMA(w * fl) * fl)
            }
            if sumL2 > 0 && noFMA(sumLX * sumLX) > noFMA(best * sumL2) {
                for i in 0..<n { L[i] = Int8(nmax + quant(iscale, i)) }
                scale = sumLX / sumL2
                best = noFMA(scale * sumLX)
            }
        }
        return scale
    }

    /// Q6_K: 16 sub-blocks of 16, 6-bit quants, 8-bit signed scales under an fp16 d.
    static func q6K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var L = [Int8](repeating: 0, count: 256), scales = [Float](repeating: 0, count: 16)
        var maxScale: Float = 0, maxAbsScale: Float = 0
        for ib in 0..<16 {
            let scale = L.withUnsafeMutableBufferPointer { qx(16, 32, x + 16 * ib, $0.baseAddress! + 16 * ib) }
            scales[ib] = scale
            if abs(scale) > maxAbsScale { (maxAbsScale, maxScale) = (abs(scale), scale) }
        }
        if maxAbsScale < 1e-15 {
            for i in 0..<210 { y.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
            return
        }
        let iscale = -128 / maxScale
        y.storeBytes(of: Float16(1 / iscale), toByteOffset: 208, as: Float16.self)
        for ib in 0..<16 { y.storeBytes(of: Int8(min(127, nearestInt(noFMA(iscale * scales[ib])))), toByteOffset: 192 + ib, as: Int8.self) }
        let d = Float(y.loadUnaligned(fromByteOffset: 208, as: Float16.self))
        for j in 0..<16 {
            let dj = d * Float(y.load(fromByteOffset: 192 + j, as: Int8.self))
            if dj == 0 { continue }
            for i in 0..<16 { L[16 * j + i] = Int8(max(-32, min(31, nearestInt(x[16 * j + i] / dj))) + 32) }
        }
        for (step, j) in stride(from: 0, to: 256, by: 128).enumerated() {
            let ql = 64 * step, qh = 128 + 32 * step
            for l in 0..<32 {
                let q1 = UInt8(L[j + l]), q2 = UInt8(L[j + l + 32]), q3 = UInt8(L[j + l + 64]), q4 = UInt8(L[j + l + 96])
                y.storeBytes(of: (q1 & 0xF) | ((q3 & 0xF) << 4), toByteOffset: ql + l, as: UInt8.self)
                y.storeBytes(of: (q2 & 0xF) | ((q4 & 0xF) << 4), toByteOffset: ql + l + 32, as: UInt8.self)
                y.storeBytes(of: (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6), toByteOffset: qh + l, as: UInt8.self)
            }
        }
    }
}
