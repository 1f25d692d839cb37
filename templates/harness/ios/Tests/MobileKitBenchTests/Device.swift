import CryptoKit
import Darwin
import Foundation
import MobileKitCore

/// This device, in the schema's `device` shape.
func currentDevice() -> DeviceInfo {
    var info = utsname()
    uname(&info)
    let machine = withUnsafeBytes(of: &info.machine) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
    let env = ProcessInfo.processInfo.environment
    let v = ProcessInfo.processInfo.operatingSystemVersion
    let version = "\(v.majorVersion).\(v.minorVersion).\(v.patchVersion)"
    #if os(iOS)
    let simulated = env["SIMULATOR_MODEL_IDENTIFIER"]
    let platform = "ios"
    let os = simulated == nil ? "iOS \(version)" : "iOS \(version) (simulator)"
    let model = simulated ?? machine
    #else
    let platform = "macos"
    let os = "macOS \(version)"
    let model = sysctlString("hw.model") ?? machine
    #endif
    return DeviceInfo(
        platform: platform,
        model: model,
        os: os,
        cores: ProcessInfo.processInfo.activeProcessorCount,
        arch: machine.hasPrefix("arm") || machine.hasPrefix("iPhone") || machine.hasPrefix("iPad") ? "arm64" : machine,
        memoryBytes: Int(ProcessInfo.processInfo.physicalMemory)
    )
}

func sysctlString(_ name: String) -> String? {
    var size = 0
    guard sysctlbyname(name, nil, &size, nil, 0) == 0, size > 0 else { return nil }
    var buf = [CChar](repeating: 0, count: size)
    guard sysctlbyname(name, &buf, &size, nil, 0) == 0 else { return nil }
    return String(cString: buf)
}

/// The process's physical footprint (what iOS counts against an app's memory limit).
func physFootprint() -> Int? {
    var info = task_vm_info_data_t()
    var count = mach_msg_type_number_t(MemoryLayout<task_vm_info_data_t>.size / MemoryLayout<integer_t>.size)
    let kr = withUnsafeMutablePointer(to: &info) { ptr in
        ptr.withMemoryRebound(to: integer_t.self, capacity: Int(count)) { raw in
            task_info(mach_task_self_, task_flavor_t(TASK_VM_INFO), raw, &count)
        }
    }
    return kr == KERN_SUCCESS ? Int(info.phys_footprint) : nil
}

/// Peak phys_footprint around load + runs: sampled after load and after every run.
final class PeakMemory {
    private var baseline: Int?
    private var peak: Int?

    func reset() {
        baseline = physFootprint()
        peak = baseline
    }

    func sample() {
        guard let now = physFootprint() else { return }
        if peak == nil || now > peak! { peak = now }
    }

    func result() -> MemoryResult {
        sample()
        let delta = (peak != nil && baseline != nil) ? peak! - baseline! : nil
        return MemoryResult(
            peakDeltaBytes: delta,
            baselineBytes: baseline,
            peakBytes: peak,
            method: "max phys_footprint (task_vm_info) sampled after load and after every run, minus phys_footprint before load"
        )
    }
}

/// The sha256 mobilekit's manifest records: of a file, or of a folder's files in path order
/// (each file's relative path, a zero byte, then the hex digest of its bytes).
func bundleSha256(_ url: URL) throws -> String {
    var isDir: ObjCBool = false
    FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir)
    if !isDir.boolValue { return try fileSha256(url) }
    var files: [[String]] = []
    let base = url.standardizedFileURL.resolvingSymlinksInPath().pathComponents
    if let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey]) {
        for case let f as URL in walker {
            if (try? f.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                let parts = f.standardizedFileURL.resolvingSymlinksInPath().pathComponents
                files.append(Array(parts.dropFirst(base.count)))
            }
        }
    }
    files.sort { a, b in a.lexicographicallyPrecedes(b) }
    var h = SHA256()
    for parts in files {
        let rel = parts.joined(separator: "/")
        h.update(data: Data(rel.utf8) + Data([0]))
        h.update(data: Data(try fileSha256(url.appendingPathComponent(rel)).utf8))
    }
    return h.finalize().map { String(format: "%02x", $0) }.joined()
}

func fileSha256(_ url: URL) throws -> String {
    let handle = try FileHandle(forReadingFrom: url)
    defer { try? handle.close() }
    var h = SHA256()
    while true {
        let chunk = handle.readData(ofLength: 1 << 20)
        if chunk.isEmpty { break }
        h.update(data: chunk)
    }
    return h.finalize().map { String(format: "%02x", $0) }.joined()
}
