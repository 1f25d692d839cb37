import Foundation

public struct Prediction: Equatable, Sendable {
    public let index: Int
    public let label: String
    public let score: Float

    public init(index: Int, label: String, score: Float) {
        self.index = index
        self.label = label
        self.score = score
    }
}

public enum TopK {
    /// The `k` highest scores, highest first; equal scores keep the lower index first.
    public static func indices(_ scores: [Float], k: Int) -> [Int] {
        let order = scores.indices.sorted { a, b in
            scores[a] != scores[b] ? scores[a] > scores[b] : a < b
        }
        return Array(order.prefix(max(k, 0)))
    }

    /// Greedy argmax: the lowest index among the maxima (NaN never wins).
    public static func argmax(_ scores: [Float]) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for (i, v) in scores.enumerated() where v > bestValue {
            best = i
            bestValue = v
        }
        return best
    }

    /// Numerically stable softmax.
    public static func softmax(_ logits: [Float]) -> [Float] {
        guard let m = logits.max() else { return [] }
        let e = logits.map { expf($0 - m) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    /// Labelled top-k; `probabilities` applies softmax to logits first.
    public static func predictions(_ scores: [Float], labels: [String], k: Int, probabilities: Bool = true) -> [Prediction] {
        let values = probabilities ? softmax(scores) : scores
        return indices(values, k: k).map { i in
            Prediction(index: i, label: i < labels.count ? labels[i] : "\(i)", score: values[i])
        }
    }
}
