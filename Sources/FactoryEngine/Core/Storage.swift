#if canImport(Glibc)
import Glibc
#endif

/// The element types a storage can hold. Compute is fp32; f16/bf16 hold frozen
/// weights compactly, `bytes` holds quantizer-packed data.
public enum DType: String, Sendable {
    case f32, f16, bf16, bytes

    /// Bytes per element (1 for packed bytes).
    public var size: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .bytes: return 1
        }
    }
}

/// A 64-byte-aligned buffer owned by exactly one Storage; returned to the
/// BufferPool when the storage goes, so training steps reuse memory instead of
/// growing or faulting in fresh pages.
public final class Storage {
    public let dtype: DType
    /// Element count.
    public let count: Int
    public let base: UnsafeMutableRawPointer
    let capacity: Int

    /// Uninitialised storage for `count` elements.
    public init(dtype: DType = .f32, count: Int) {
        self.dtype = dtype
        self.count = count
        let (pointer, capacity) = BufferPool.shared.take(bytes: max(count * dtype.size, 1))
        self.base = pointer
        self.capacity = capacity
    }

    /// Zero-filled storage.
    public convenience init(zeros count: Int, dtype: DType = .f32) {
        self.init(dtype: dtype, count: count)
        memset(base, 0, count * dtype.size)
    }

    deinit { BufferPool.shared.give(base, capacity: capacity) }

    /// The storage as fp32 elements.
    @inline(__always) public var floats: UnsafeMutablePointer<Float> { base.assumingMemoryBound(to: Float.self) }
}

/// A bounded cache of freed buffers by size class (powers of two and halfway
/// steps). Memory is released deterministically: at most `limit` bytes wait
/// for reuse; beyond that buffers go back to the system at once.
public final class BufferPool: @unchecked Sendable {
    public static let shared = BufferPool()
    /// Bytes that may wait in the pool: an eighth of physical memory (3 GB on 24 GB), at least
    /// 512 MB. A training step frees and re-allocates gigabytes; below its working set every step
    /// would hand pages back to the kernel and fault fresh zeroed ones in (measured: 8% of a
    /// SmolLM2 step in clear_page). Peak RSS does not grow: held buffers are reused, not added.
    public var limit: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        return max(512 << 20, pages > 0 && size > 0 ? pages * size / 8 : 0)
    }()
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var held = 0
    private var lock = pthread_mutex_t()
    /// Bytes handed out and not yet returned (for tests: no growth over steps).
    public private(set) var live = 0
    /// Allocations the pool could not serve from its free lists (fresh memory from the system).
    public private(set) var misses = 0

    init() { pthread_mutex_init(&lock, nil) }

    static func sizeClass(_ bytes: Int) -> Int {
        if bytes <= 4096 { return 4096 }
        var p = 4096
        while p < bytes { p <<= 1 }
        let threeQuarters = p / 4 * 3
        return bytes <= threeQuarters ? threeQuarters : p
    }

    func take(bytes: Int) -> (UnsafeMutableRawPointer, Int) {
        let size = BufferPool.sizeClass(bytes)
        pthread_mutex_lock(&lock)
        live += size
        if var list = free[size], let p = list.popLast() {
            free[size] = list
            held -= size
            pthread_mutex_unlock(&lock)
            return (p, size)
        }
        misses += 1
        pthread_mutex_unlock(&lock)
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, 64, size) == 0, let p else {
            fatalError("out of memory allocating \(size) bytes")
        }
        return (p, size)
    }

    func give(_ p: UnsafeMutableRawPointer, capacity: Int) {
        pthread_mutex_lock(&lock)
        live -= capacity
        if held + capacity <= limit {
            free[capacity, default: []].append(p)
            held += capacity
            pthread_mutex_unlock(&lock)
        } else {
            pthread_mutex_unlock(&lock)
            Glibc.free(p)
        }
    }

    /// Returns every waiting buffer to the system.
    public func trim() {
        pthread_mutex_lock(&lock)
        for (_, list) in free { for p in list { Glibc.free(p) } }
        free.removeAll()
        held = 0
        pthread_mutex_unlock(&lock)
    }
}
