import MobileKitCore
import SwiftUI

/// Live classification: the camera picture, the top labels and the inference time.
struct CameraScreen: View {
    @StateObject private var model = CameraModel()

    var body: some View {
        ZStack(alignment: .bottom) {
            CameraPreview(session: model.camera.session)
                .ignoresSafeArea(edges: .top)
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
                HStack {
                    Text(timing).font(.footnote.monospacedDigit())
                    Spacer()
                }
                settings
                Text(model.status).font(.caption).foregroundStyle(.secondary).lineLimit(2)
            }
            .padding()
            .background(.ultraThinMaterial, in: RoundedRectangle(cornerRadius: 16))
            .padding()
        }
        .onAppear { model.appear() }
        .onDisappear { model.disappear() }
        .onChange(of: model.computeUnits) { model.reload() }
        .onChange(of: model.variant) { old, new in
            if !old.isEmpty && old != new { model.reload() }
        }
    }

    private var timing: String {
        guard let last = model.lastMs else { return "inference: –" }
        let p50 = model.p50Ms.map { String(format: " · p50 %.1f ms", $0) } ?? ""
        return String(format: "inference %.1f ms", last) + p50
    }

    @ViewBuilder private var cameraState: some View {
        switch model.cameraState {
        case .denied:
            Text("Camera access is off: allow it in Settings.").foregroundStyle(.red)
        case .failed(let why):
            Text(why).foregroundStyle(.red)
        default:
            EmptyView()
        }
    }

    private var settings: some View {
        HStack {
            Picker("Compute units", selection: $model.computeUnits) {
                ForEach(ComputeUnitsOption.allCases) { option in
                    Text(option.title).tag(option)
                }
            }
            .pickerStyle(.segmented)
            if model.variants.count > 1 {
                Picker("Variant", selection: $model.variant) {
                    ForEach(model.variants, id: \.self) { v in
                        Text(v).tag(v)
                    }
                }
                .pickerStyle(.menu)
            }
        }
    }
}
