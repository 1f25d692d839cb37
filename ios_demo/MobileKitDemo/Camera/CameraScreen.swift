import MobileKitCore
import SwiftUI

/// Live classification: the camera picture with a box around exactly what the model sees, the
/// top labels, the choice (runtime, target, precision, status, host p50 beside this device's p50/p90).
struct CameraScreen: View {
    @StateObject private var model = CameraModel()

    var body: some View {
        VStack(spacing: 0) {
            ZStack {
                CameraPreview(camera: model.camera, running: isRunning)
                GeometryReader { geometry in
                    guide(in: geometry.size)
                }
                .allowsHitTesting(false)
            }
            .ignoresSafeArea(edges: .top)
            panel
        }
        .onAppear { model.appear() }
        .onDisappear { model.disappear() }
        .onChange(of: model.computeUnits) { model.reload() }
        .onChange(of: model.choiceID) { old, new in
            if !old.isEmpty && old != new { model.reload() }
        }
    }

    private var isRunning: Bool {
        if case .running = model.cameraState { return true }
        return false
    }

    /// The model's crop of the frame, mapped into the preview (aspect fit).
    @ViewBuilder private func guide(in size: CGSize) -> some View {
        if let frame = model.frameSize, let input = model.modelSize, size.width > 0, size.height > 0 {
            let r = FramingGuide.guideRect(frameWidth: frame.width, frameHeight: frame.height,
                                           modelWidth: input.width, modelHeight: input.height,
                                           viewWidth: Double(size.width), viewHeight: Double(size.height), gravity: .fit)
            Rectangle()
                .stroke(Color.yellow, lineWidth: 2)
                .frame(width: r.width, height: r.height)
                .position(x: r.x + r.width / 2, y: r.y + r.height / 2)
            Text("the model sees this box (\(input.width)×\(input.height))")
                .font(.caption2)
                .foregroundStyle(.yellow)
                .position(x: r.x + r.width / 2, y: max(r.y - 10, 8))
        }
    }

    private var panel: some View {
        VStack(alignment: .leading, spacing: 8) {
            cameraState
            ForEach(model.predictions, id: \.index) { p in
                HStack {
                    Text(p.label).font(.title3.bold())
                    Spacer()
                    Text(String(format: "%.1f%%", p.score * 100)).monospacedDigit()
                }
                ProgressView(value: Double(min(max(p.score, 0), 1)))
            }
            Text(timing).font(.footnote.monospacedDigit())
            settings
            if let choice = model.loaded {
                Text(ModelChoices.summary(choice, device: model.deviceLatency))
                    .font(.caption.monospacedDigit())
                    .foregroundStyle(choice.verified ? Color.secondary : Color.orange)
            }
            if let error = model.error {
                HStack {
                    Text(error).font(.caption).foregroundStyle(.red).lineLimit(3)
                    Spacer()
                    Button("Retry") { model.reload() }.font(.caption)
                }
            } else {
                Text(model.status).font(.caption).foregroundStyle(.secondary).lineLimit(2)
            }
        }
        .padding()
        .background(.regularMaterial)
    }

    private var timing: String {
        guard let last = model.lastMs else { return "inference: –" }
        let p50 = model.deviceLatency.map { String(format: " · p50 %.1f ms", $0.p50) } ?? ""
        return String(format: "inference %.1f ms", last) + p50
    }

    @ViewBuilder private var cameraState: some View {
        switch model.cameraState {
        case .denied:
            Text("Camera access is off: allow it in Settings › Privacy › Camera.").foregroundStyle(.red)
        case .failed(let why):
            Text(why).foregroundStyle(.red)
        case .running(let front) where front:
            Text("No back camera: using the front one.").font(.caption).foregroundStyle(.secondary)
        default:
            EmptyView()
        }
    }

    /// The runtime switch is the choice itself: Core ML and ExecuTorch (XNNPACK or the Core ML
    /// delegate) choices are listed together, each with its runtime. Compute units apply to
    /// Core ML only (an ExecuTorch program's backend is fixed when it is exported).
    private var settings: some View {
        HStack {
            if model.selected?.runtime == .coreML {
                Picker("Compute units", selection: $model.computeUnits) {
                    ForEach(ComputeUnitsOption.allCases) { option in
                        Text(option.title).tag(option)
                    }
                }
                .pickerStyle(.segmented)
            }
            if model.choices.count > 1 {
                Picker("Model", selection: $model.choiceID) {
                    ForEach(model.choices) { c in
                        Text(ModelChoices.title(c)).tag(c.id)
                    }
                }
                .pickerStyle(.menu)
            }
        }
    }
}
