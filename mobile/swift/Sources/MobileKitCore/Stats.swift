import Foundation

/// Latency statistics in milliseconds, computed as mobilekit's host benchmark does:
/// percentiles interpolate linearly between closest ranks, std is the population deviation.
public struct Latency: Equatable, Sendable {
    public let count: Int
    public let min: Double
    public let mean: Double
    public let std: Double
    public let p50: Double
    public let p90: Double
    public let p95: Double
    public let p99: Double
    public let max: Double

    /// The `latency_ms` object of a bench result (mobilekit.bench-result schema).
    public var dictionary: [String: Any] {
        ["min": min, "mean": mean, "std": std, "p50": p50, "p90": p90, "p95": p95, "p99": p99, "max": max]
    }
}

public enum Stats {
    /// Linear interpolation between closest ranks; `sorted` must be sorted ascending.
    public static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        precondition(!sorted.isEmpty, "no values")
        let rank = Double(sorted.count - 1) * p / 100.0
        let lo = Int(rank.rounded(.down))
        let hi = Swift.min(lo + 1, sorted.count - 1)
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - Double(lo))
    }

    public static func latency(_ runsMs: [Double]) -> Latency? {
        guard !runsMs.isEmpty else { return nil }
        let sorted = runsMs.sorted()
        let mean = runsMs.reduce(0, +) / Double(runsMs.count)
        let squares = runsMs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return Latency(
            count: runsMs.count,
            min: sorted[0],
            mean: mean,
            std: (squares / Double(runsMs.count)).squareRoot(),
            p50: percentile(sorted, 50),
            p90: percentile(sorted, 90),
            p95: percentile(sorted, 95),
            p99: percentile(sorted, 99),
            max: sorted[sorted.count - 1]
        )
    }
}

/// The last `capacity` latencies of a live stream (camera frames), for a running p50 on screen.
public struct LatencyWindow: Sendable {
    public let capacity: Int
    private var values: [Double] = []
    private var next = 0

    public init(capacity: Int = 60) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
    }

    public mutating func add(_ ms: Double) {
        if values.count < capacity {
            values.append(ms)
        } else {
            values[next] = ms
        }
        next = (next + 1) % capacity
    }

    public var summary: Latency? { Stats.latency(values) }
}
