import Foundation

/// The ids decoding needs, from the manifest: what is fed first, what ends a sentence, what
/// generate() forces, and how long a target may be.
public struct DecodingContract: Equatable, Sendable {
    /// Fed at position 0 (`decoder_start.token`, else `special_tokens.bos`).
    public var start: Int
    public var eos: Int
    /// The first generated token, whatever the logits say (forced_bos_token_id).
    public var forcedBos: Int?
    /// The token of the last allowed step (forced_eos_token_id).
    public var forcedEos: Int?
    public var maxTargetLen: Int
    /// Logits past this many are ignored (0: use them all).
    public var vocabSize: Int

    public init(start: Int, eos: Int, forcedBos: Int? = nil, forcedEos: Int? = nil, maxTargetLen: Int, vocabSize: Int = 0) {
        self.start = start
        self.eos = eos
        self.forcedBos = forcedBos
        self.forcedEos = forcedEos
        self.maxTargetLen = maxTargetLen
        self.vocabSize = vocabSize
    }

    public init(spec: TranslationSpec) {
        self.init(
            start: spec.decoderStart?.token ?? spec.specialTokens.bos, eos: spec.specialTokens.eos,
            forcedBos: spec.decoderStart?.forcedBos, forcedEos: spec.decoderStart?.forcedEos,
            maxTargetLen: spec.maxTargetLen, vocabSize: spec.vocabSize
        )
    }

    /// At most this many tokens are generated.
    public var limit: Int { max(maxTargetLen - 1, 0) }

    /// The token generate() forces at `position`, if any (mobilekit.tasks.decoding.forced):
    /// forced_bos first, forced_eos at the last allowed step.
    public func forced(position: Int) -> Int? {
        if position == 0, let forcedBos { return forcedBos }
        if position == limit - 1, let forcedEos { return forcedEos }
        return nil
    }
}

/// A decoder whose state (its caches) can be read and set, so that beam search keeps one
/// state per beam: after `start`, `decoderState` is the fresh state; after `step`, the state
/// that step produced.
public protocol Seq2SeqBeamRunner: Seq2SeqRunner {
    associatedtype DecoderState
    var decoderState: DecoderState { get set }
}

public enum BeamSearch {
    /// Beam search of `width` beams over an abstract decoder step, exactly as
    /// mobilekit.tasks.decoding.beam (HF generate(num_beams=width, early_stopping=True,
    /// length_penalty=1.0)) does it, in Float like its float32 arithmetic:
    /// beam 0 alone is live at step 0 (the others score -1e9); each step adds the beam's score to
    /// the log-softmax of its logits (a forced token: every other id -inf); of the best 2·width
    /// continuations of all beams (ties: lower beam, then lower id), those among the first
    /// `width` that end (eos, or the last allowed step) become finished hypotheses scored
    /// sum / len^lengthPenalty (len counts the generated ids, eos included); the best `width`
    /// others (ended ones pushed down by 1e9) run on, each with the state its parent's step
    /// returned. Stops when `width` hypotheses are finished; returns the best one's ids
    /// (after the start token, eos included when it ended with it).
    /// `step(token, position, state)` gives the logits for the next token and the new state.
    public static func search<State>(
        width: Int,
        contract: DecodingContract,
        initialState: State,
        lengthPenalty: Double = 1.0,
        step: (_ token: Int, _ position: Int, _ state: State) throws -> (logits: [Float], state: State)
    ) rethrows -> [Int] {
        let limit = contract.limit
        guard width >= 1, limit >= 1 else { return [] }
        var running: [(ids: [Int], score: Float, state: State)] = (0..<width).map { b in
            (ids: [], score: b == 0 ? Float(0) : Float(-1e9), state: initialState)
        }
        var finished: [(score: Float, ids: [Int])] = []
        var vocab = contract.vocabSize
        for position in 0..<limit {
            var flat: [Float] = []
            var states: [State] = []
            states.reserveCapacity(running.count)
            for beam in running {
                let out = try step(beam.ids.last ?? contract.start, position, beam.state)
                if vocab <= 0 { vocab = out.logits.count }
                flat.reserveCapacity(running.count * vocab)
                var logp = logSoftmax(out.logits, count: vocab)
                if let want = contract.forced(position: position) {
                    logp = [Float](repeating: -.infinity, count: vocab)
                    if want >= 0 && want < vocab { logp[want] = 0 }
                }
                for v in 0..<vocab { flat.append(logp[v] + beam.score) }
                states.append(out.state)
            }
            guard vocab > 0 else { return [] }
            let top = best(flat, count: 2 * width)
            let ends = top.map { $0 % vocab == contract.eos || position == limit - 1 }
            let lengthScale = Float(pow(Double(position + 1), lengthPenalty))
            for j in 0..<min(width, top.count) where ends[j] {
                let i = top[j]
                finished.append((score: flat[i] / lengthScale, ids: running[i / vocab].ids + [i % vocab]))
            }
            // a stable sort, best first, then the best `width`
            let order: [Int] = finished.indices.sorted { a, b in
                finished[a].score != finished[b].score ? finished[a].score > finished[b].score : a < b
            }
            finished = order.prefix(width).map { finished[$0] }
            let keys: [Float] = top.indices.map { j in ends[j] ? flat[top[j]] - 1e9 : flat[top[j]] }
            let keep: [Int] = Array(top.indices.sorted { a, b in keys[a] != keys[b] ? keys[a] > keys[b] : a < b }.prefix(width))
            running = keep.map { j in
                let i = top[j]
                return (ids: running[i / vocab].ids + [i % vocab], score: keys[j], state: states[i / vocab])
            }
            if finished.count == width { break }  // early_stopping=True
        }
        return finished.first?.ids ?? running.first?.ids ?? []
    }

    /// log_softmax over the first `count` logits (missing ones as -inf), as numpy does it in
    /// float32: x - max, minus log of the sum of exp.
    public static func logSoftmax(_ logits: [Float], count: Int) -> [Float] {
        var x = Array(logits.prefix(count))
        if x.count < count { x += [Float](repeating: -.infinity, count: count - x.count) }
        guard let top = x.max(), top.isFinite else { return x }
        var sum: Float = 0
        for v in x { sum += Float(exp(Double(v - top))) }
        let logSum = Float(log(Double(sum)))
        return x.map { ($0 - top) - logSum }
    }

    /// Indices of the `count` largest values, largest first, ties in index order (a stable
    /// argsort of -values); NaN ranks lowest.
    public static func best(_ values: [Float], count: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(count + 1)
        func key(_ i: Int) -> Float { values[i].isNaN ? -.infinity : values[i] }
        for i in values.indices {
            let v = key(i)
            if out.count == count, let last = out.last, !(v > key(last)) { continue }
            // after every kept value >= v: equal values keep index order
            var lo = 0
            var hi = out.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if key(out[mid]) >= v { lo = mid + 1 } else { hi = mid }
            }
            out.insert(i, at: lo)
            if out.count > count { out.removeLast() }
        }
        return out
    }

    /// Beam search over a runner: the encoder once, then `search` with the runner's decoder
    /// state swapped per beam. `stepMs` holds the time of each position (all beams together).
    public static func decode<Runner: Seq2SeqBeamRunner>(
        sourceIds: [Int],
        runner: Runner,
        contract: DecodingContract,
        width: Int,
        clock: () -> Double = { ProcessInfo.processInfo.systemUptime }
    ) throws -> DecodeResult {
        let t0 = clock()
        try runner.start(sourceIds: sourceIds)
        let encoderMs = (clock() - t0) * 1000
        var stepMs: [Double] = []
        let ids = try search(width: width, contract: contract, initialState: runner.decoderState) { token, position, state in
            let start = clock()
            runner.decoderState = state
            let logits = try runner.step(token: token, position: position)
            let elapsed = (clock() - start) * 1000
            if position < stepMs.count { stepMs[position] += elapsed } else { stepMs.append(elapsed) }
            return (logits: logits, state: runner.decoderState)
        }
        return DecodeResult(ids: ids, stepMs: stepMs, encoderMs: encoderMs, stoppedAtEos: ids.last == contract.eos)
    }
}
