#!/usr/bin/env python3
"""Write MobileKitDemo.xcodeproj/project.pbxproj (and the shared MobileKitDemo scheme) from the
files in MobileKitDemo/.

Run it after adding or removing a Swift file (`python3 tools/generate_pbxproj.py`); a test
checks the committed project equals what this script writes. Object ids are the first 24 hex
digits of a hash of each object's role, so they are stable across runs and unique.
Standard library only.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # ios_demo/
APP = "MobileKitDemo"
PACKAGE = "MobileKitCore"
# The package's products the app links: the pure core, and the Core ML side shared with the harness.
PRODUCTS = ("MobileKitCore", "MobileKitCoreML")
PACKAGE_PATH = "../mobile/swift"  # the Swift core shared with the iOS benchmark harness
# The ExecuTorch Swift package, pinned as the iOS harness pins it (templates/harness/ios/Package.swift):
# prebuilt binaries on branch swiftpm-<version>; it needs iOS 17. The runtime, both backends the
# demo's `.pte` use (XNNPACK, the Core ML delegate) and the kernels they call.
EXECUTORCH = "executorch"
EXECUTORCH_URL = "https://github.com/pytorch/executorch.git"
EXECUTORCH_BRANCH = "swiftpm-1.0.1"
EXECUTORCH_PRODUCTS = ("executorch", "backend_xnnpack", "backend_coreml", "kernels_optimized", "kernels_quantized")
DEPLOYMENT_TARGET = "17.0"
BUNDLE_ID = "dev.mobilekit.MobileKitDemo"
GROUP_ORDER = ("Camera", "Translate", "ExecuTorch", "Models")  # source subfolders shown as groups
IPAD_ORIENTATIONS = ("UIInterfaceOrientationPortrait", "UIInterfaceOrientationPortraitUpsideDown",
                     "UIInterfaceOrientationLandscapeLeft", "UIInterfaceOrientationLandscapeRight")


def oid(*key: str) -> str:
    return hashlib.sha256("/".join(key).encode()).hexdigest()[:24].upper()


def q(value: str) -> str:
    """Quote a value the way Xcode does (bare only for plain names and paths)."""
    if value and re.fullmatch(r"[A-Za-z0-9_$/:.]+", value) and not value.startswith("//"):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def swift_sources(app_dir: Path) -> dict[str, list[str]]:
    """Swift files by group ("" = the app folder itself), sorted."""
    groups: dict[str, list[str]] = {"": sorted(p.name for p in app_dir.glob("*.swift"))}
    for sub in sorted(d.name for d in app_dir.iterdir() if d.is_dir() and any(d.glob("*.swift"))):
        groups[sub] = sorted(p.name for p in (app_dir / sub).glob("*.swift"))
    return groups


class Writer:
    def __init__(self) -> None:
        self.sections: dict[str, list[str]] = {}

    def add(self, isa: str, ident: str, comment: str, fields: list[tuple[str, str]], one_line: bool = False) -> None:
        if one_line:
            body = " ".join(f"{k} = {v};" for k, v in [("isa", isa), *fields])
            line = f"\t\t{ident} /* {comment} */ = {{{body} }};"
        else:
            inner = "".join(f"\t\t\t{k} = {v};\n" for k, v in [("isa", isa), *fields])
            line = f"\t\t{ident} /* {comment} */ = {{\n{inner}\t\t}};"
        self.sections.setdefault(isa, []).append((ident, line))

    def render(self, root: str) -> str:
        out = ["// !$*UTF8*$!", "{", "\tarchiveVersion = 1;", "\tclasses = {", "\t};", "\tobjectVersion = 60;",
               "\tobjects = {", ""]
        for isa in sorted(self.sections):
            out.append(f"/* Begin {isa} section */")
            out.extend(line for _, line in sorted(self.sections[isa]))
            out.append(f"/* End {isa} section */")
            out.append("")
        out += ["\t};", f"\trootObject = {root} /* Project object */;", "}", ""]
        return "\n".join(out)


def lst(items: list[str], indent: int = 3) -> str:
    tabs = "\t" * (indent + 1)
    return "(\n" + "".join(f"{tabs}{i},\n" for i in items) + "\t" * indent + ")"


def settings(values: dict[str, str | list[str]]) -> str:
    lines = []
    for key in sorted(values):
        v = values[key]
        rendered = lst([q(x) for x in v], 4) if isinstance(v, list) else q(v)
        lines.append(f"\t\t\t\t{key} = {rendered};\n")
    return "{\n" + "".join(lines) + "\t\t\t}"


def project_settings(debug: bool) -> dict[str, str | list[str]]:
    s: dict[str, str | list[str]] = {
        "ALWAYS_SEARCH_USER_PATHS": "NO",
        "ASSETCATALOG_COMPILER_GENERATE_SWIFT_ASSET_SYMBOL_EXTENSIONS": "YES",
        "CLANG_ANALYZER_NONNULL": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "gnu++20",
        "CLANG_ENABLE_MODULES": "YES",
        "CLANG_ENABLE_OBJC_ARC": "YES",
        "CLANG_WARN_DOCUMENTATION_COMMENTS": "YES",
        "CLANG_WARN_UNGUARDED_AVAILABILITY": "YES_AGGRESSIVE",
        "COPY_PHASE_STRIP": "NO",
        "ENABLE_STRICT_OBJC_MSGSEND": "YES",
        "ENABLE_USER_SCRIPT_SANDBOXING": "YES",
        "GCC_C_LANGUAGE_STANDARD": "gnu17",
        "GCC_NO_COMMON_BLOCKS": "YES",
        "IPHONEOS_DEPLOYMENT_TARGET": DEPLOYMENT_TARGET,
        "LOCALIZATION_PREFERS_STRING_CATALOGS": "YES",
        "MTL_FAST_MATH": "YES",
        "SDKROOT": "iphoneos",
    }
    if debug:
        s.update({
            "DEBUG_INFORMATION_FORMAT": "dwarf",
            "ENABLE_TESTABILITY": "YES",
            "GCC_DYNAMIC_NO_PIC": "NO",
            "GCC_OPTIMIZATION_LEVEL": "0",
            "GCC_PREPROCESSOR_DEFINITIONS": ["DEBUG=1", "$(inherited)"],
            "MTL_ENABLE_DEBUG_INFO": "INCLUDE_SOURCE",
            "ONLY_ACTIVE_ARCH": "YES",
            "SWIFT_ACTIVE_COMPILATION_CONDITIONS": "DEBUG $(inherited)",
            "SWIFT_OPTIMIZATION_LEVEL": "-Onone",
        })
    else:
        s.update({
            "DEBUG_INFORMATION_FORMAT": "dwarf-with-dsym",
            "ENABLE_NS_ASSERTIONS": "NO",
            "MTL_ENABLE_DEBUG_INFO": "NO",
            "SWIFT_COMPILATION_MODE": "wholemodule",
            "VALIDATE_PRODUCT": "YES",
        })
    return s


def target_settings() -> dict[str, str | list[str]]:
    return {
        "ASSETCATALOG_COMPILER_APPICON_NAME": "AppIcon",
        "ASSETCATALOG_COMPILER_GLOBAL_ACCENT_COLOR_NAME": "AccentColor",
        "CODE_SIGN_STYLE": "Automatic",
        "CURRENT_PROJECT_VERSION": "1",
        "ENABLE_PREVIEWS": "YES",
        "GENERATE_INFOPLIST_FILE": "YES",
        "INFOPLIST_FILE": f"{APP}/Info.plist",
        "INFOPLIST_KEY_CFBundleDisplayName": "MobileKit",
        "INFOPLIST_KEY_UIApplicationSceneManifest_Generation": "YES",
        "INFOPLIST_KEY_UIApplicationSupportsIndirectInputEvents": "YES",
        "INFOPLIST_KEY_UILaunchScreen_Generation": "YES",
        # iPad: every orientation (App Store validation rejects an iPad app locked to portrait
        # unless it opts out of multitasking); the camera follows the device's rotation.
        "INFOPLIST_KEY_UISupportedInterfaceOrientations_iPad": " ".join(IPAD_ORIENTATIONS),
        "INFOPLIST_KEY_UISupportedInterfaceOrientations_iPhone": "UIInterfaceOrientationPortrait",
        "IPHONEOS_DEPLOYMENT_TARGET": DEPLOYMENT_TARGET,
        "LD_RUNPATH_SEARCH_PATHS": ["$(inherited)", "@executable_path/Frameworks"],
        "MARKETING_VERSION": "1.0",
        # ExecuTorch's backends and kernels register from static initializers: load every symbol of
        # its static libraries (as its docs say, and as the harness links), or they are dropped.
        "OTHER_LDFLAGS": ["$(inherited)", "-all_load"],
        "PRODUCT_BUNDLE_IDENTIFIER": BUNDLE_ID,
        "PRODUCT_NAME": "$(TARGET_NAME)",
        "SWIFT_EMIT_LOC_STRINGS": "YES",
        # Swift 6 language mode: data-race safety checked by the compiler (complete strict concurrency).
        "SWIFT_STRICT_CONCURRENCY": "complete",
        "SWIFT_VERSION": "6.0",
        "TARGETED_DEVICE_FAMILY": "1,2",
    }


def generate(root: Path = ROOT) -> str:
    app_dir = root / APP
    w = Writer()
    ref = lambda i, c: f"{i} /* {c} */"  # noqa: E731

    project, target, main_group, products_group, app_group = (oid(APP, k) for k in
                                                               ("project", "target", "group:main", "group:products", "group:app"))
    product = oid(APP, "product")
    phases = {name: oid(APP, "phase", name) for name in ("Sources", "Frameworks", "Resources")}
    package_ref = oid(PACKAGE, "ref")
    executorch_ref = oid(EXECUTORCH, "ref")
    linked = PRODUCTS + EXECUTORCH_PRODUCTS
    product_deps = {name: oid(name, "product") for name in linked}
    product_builds = {name: oid(name, "build") for name in linked}
    local_comment = f'XCLocalSwiftPackageReference "{PACKAGE}"'
    remote_comment = f'XCRemoteSwiftPackageReference "{EXECUTORCH}"'

    w.add("PBXFileReference", product, f"{APP}.app", [
        ("explicitFileType", "wrapper.application"), ("includeInIndex", "0"), ("path", f"{APP}.app"),
        ("sourceTree", "BUILT_PRODUCTS_DIR")], one_line=True)

    sources: list[str] = []
    groups: dict[str, list[str]] = {}
    for group, files in swift_sources(app_dir).items():
        children = groups.setdefault(group, [])
        for name in files:
            rel = f"{group}/{name}" if group else name
            fref, build = oid(APP, "file", rel), oid(APP, "build", rel)
            w.add("PBXFileReference", fref, name, [("lastKnownFileType", "sourcecode.swift"), ("path", q(name)),
                                                   ("sourceTree", q("<group>"))], one_line=True)
            w.add("PBXBuildFile", build, f"{name} in Sources", [("fileRef", ref(fref, name))], one_line=True)
            children.append(ref(fref, name))
            sources.append(ref(build, f"{name} in Sources"))

    resources = []
    extra = []  # non-Swift children of the app group
    for name, kind, in_resources in (("Assets.xcassets", "folder.assetcatalog", True),
                                     ("Bundles", "folder", True),  # a folder reference: copied verbatim
                                     ("Info.plist", "text.plist.xml", False)):
        fref = oid(APP, "file", name)
        w.add("PBXFileReference", fref, name, [("lastKnownFileType", kind), ("path", q(name)), ("sourceTree", q("<group>"))],
              one_line=True)
        extra.append(ref(fref, name))
        if in_resources:
            build = oid(APP, "build", name)
            w.add("PBXBuildFile", build, f"{name} in Resources", [("fileRef", ref(fref, name))], one_line=True)
            resources.append(ref(build, f"{name} in Resources"))

    for name in linked:
        w.add("PBXBuildFile", product_builds[name], f"{name} in Frameworks", [("productRef", ref(product_deps[name], name))],
              one_line=True)

    sub_groups = [g for g in groups if g]
    sub_groups.sort(key=lambda g: (GROUP_ORDER.index(g) if g in GROUP_ORDER else len(GROUP_ORDER), g))
    for g in sub_groups:
        w.add("PBXGroup", oid(APP, "group", g), g, [("children", lst(groups[g])), ("path", q(g)),
                                                    ("sourceTree", q("<group>"))])
    app_children = groups.get("", []) + [ref(oid(APP, "group", g), g) for g in sub_groups] + extra
    w.add("PBXGroup", app_group, APP, [("children", lst(app_children)), ("path", APP), ("sourceTree", q("<group>"))])
    w.add("PBXGroup", products_group, "Products", [("children", lst([ref(product, f"{APP}.app")])), ("name", "Products"),
                                                   ("sourceTree", q("<group>"))])
    w.add("PBXGroup", main_group, "MobileKitDemo project", [
        ("children", lst([ref(app_group, APP), ref(products_group, "Products")])), ("sourceTree", q("<group>"))])

    common = [("buildActionMask", "2147483647")]
    w.add("PBXSourcesBuildPhase", phases["Sources"], "Sources",
          common + [("files", lst(sources)), ("runOnlyForDeploymentPostprocessing", "0")])
    w.add("PBXFrameworksBuildPhase", phases["Frameworks"], "Frameworks",
          common + [("files", lst([ref(product_builds[n], f"{n} in Frameworks") for n in linked])),
                    ("runOnlyForDeploymentPostprocessing", "0")])
    w.add("PBXResourcesBuildPhase", phases["Resources"], "Resources",
          common + [("files", lst(resources)), ("runOnlyForDeploymentPostprocessing", "0")])

    configs = {}
    for owner, make in (("project", project_settings), ("target", None)):
        for name in ("Debug", "Release"):
            ident = oid(APP, "config", owner, name)
            values = make(name == "Debug") if make else target_settings()
            w.add("XCBuildConfiguration", ident, name, [("buildSettings", settings(values)), ("name", name)])
            configs.setdefault(owner, []).append(ref(ident, name))
    project_list, target_list = oid(APP, "configlist", "project"), oid(APP, "configlist", "target")
    w.add("XCConfigurationList", project_list, f'Build configuration list for PBXProject "{APP}"', [
        ("buildConfigurations", lst(configs["project"])), ("defaultConfigurationIsVisible", "0"),
        ("defaultConfigurationName", "Release")])
    w.add("XCConfigurationList", target_list, f'Build configuration list for PBXNativeTarget "{APP}"', [
        ("buildConfigurations", lst(configs["target"])), ("defaultConfigurationIsVisible", "0"),
        ("defaultConfigurationName", "Release")])

    w.add("XCLocalSwiftPackageReference", package_ref, local_comment, [("relativePath", PACKAGE_PATH)])
    w.add("XCRemoteSwiftPackageReference", executorch_ref, remote_comment, [
        ("repositoryURL", q(EXECUTORCH_URL)),
        ("requirement", f"{{\n\t\t\t\tbranch = {q(EXECUTORCH_BRANCH)};\n\t\t\t\tkind = branch;\n\t\t\t}}")])
    for name in linked:
        package = ref(package_ref, local_comment) if name in PRODUCTS else ref(executorch_ref, remote_comment)
        w.add("XCSwiftPackageProductDependency", product_deps[name], name, [("package", package), ("productName", name)])

    w.add("PBXNativeTarget", target, APP, [
        ("buildConfigurationList", ref(target_list, f'Build configuration list for PBXNativeTarget "{APP}"')),
        ("buildPhases", lst([ref(phases[p], p) for p in ("Sources", "Frameworks", "Resources")])),
        ("buildRules", lst([])),
        ("dependencies", lst([])),
        ("name", APP),
        ("packageProductDependencies", lst([ref(product_deps[n], n) for n in linked])),
        ("productName", APP),
        ("productReference", ref(product, f"{APP}.app")),
        ("productType", q("com.apple.product-type.application")),
    ])
    attributes = ("{\n\t\t\t\tBuildIndependentTargetsInParallel = 1;\n\t\t\t\tLastSwiftUpdateCheck = 1540;\n"
                  "\t\t\t\tLastUpgradeCheck = 1540;\n\t\t\t\tTargetAttributes = {\n"
                  f"\t\t\t\t\t{target} = {{\n\t\t\t\t\t\tCreatedOnToolsVersion = 15.4;\n\t\t\t\t\t}};\n"
                  "\t\t\t\t};\n\t\t\t}")
    w.add("PBXProject", project, "Project object", [
        ("attributes", attributes),
        ("buildConfigurationList", ref(project_list, f'Build configuration list for PBXProject "{APP}"')),
        ("compatibilityVersion", q("Xcode 14.0")),
        ("developmentRegion", "en"),
        ("hasScannedForEncodings", "0"),
        ("knownRegions", lst(["en", "Base"])),
        ("mainGroup", main_group),
        ("packageReferences", lst([ref(package_ref, local_comment), ref(executorch_ref, remote_comment)])),
        ("productRefGroup", ref(products_group, "Products")),
        ("projectDirPath", q("")),
        ("projectRoot", q("")),
        ("targets", lst([ref(target, APP)])),
    ])
    return w.render(project)


def scheme() -> str:
    """The shared scheme, so `xcodebuild -scheme MobileKitDemo` works on a fresh clone."""
    ref = (f'            <BuildableReference\n'
           f'               BuildableIdentifier = "primary"\n'
           f'               BlueprintIdentifier = "{oid(APP, "target")}"\n'
           f'               BuildableName = "{APP}.app"\n'
           f'               BlueprintName = "{APP}"\n'
           f'               ReferencedContainer = "container:{APP}.xcodeproj">\n'
           f'            </BuildableReference>\n')
    runnable = ('      <BuildableProductRunnable\n         runnableDebuggingMode = "0">\n'
                + ref.replace("            ", "         ", ) + '      </BuildableProductRunnable>\n')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Scheme\n   LastUpgradeVersion = "1540"\n   version = "1.7">\n'
            '   <BuildAction\n      parallelizeBuildables = "YES"\n      buildImplicitDependencies = "YES">\n'
            '      <BuildActionEntries>\n         <BuildActionEntry\n            buildForTesting = "YES"\n'
            '            buildForRunning = "YES"\n            buildForProfiling = "YES"\n'
            '            buildForArchiving = "YES"\n            buildForAnalyzing = "YES">\n'
            + ref + '         </BuildActionEntry>\n      </BuildActionEntries>\n   </BuildAction>\n'
            '   <TestAction\n      buildConfiguration = "Debug"\n'
            '      selectedDebuggerIdentifier = "Xcode.DebuggerFoundation.Debugger.LLDB"\n'
            '      selectedLauncherIdentifier = "Xcode.DebuggerFoundation.Launcher.LLDB"\n'
            '      shouldUseLaunchSchemeArgsEnv = "YES"\n      shouldAutocreateTestPlan = "YES">\n   </TestAction>\n'
            '   <LaunchAction\n      buildConfiguration = "Debug"\n'
            '      selectedDebuggerIdentifier = "Xcode.DebuggerFoundation.Debugger.LLDB"\n'
            '      selectedLauncherIdentifier = "Xcode.DebuggerFoundation.Launcher.LLDB"\n'
            '      launchStyle = "0"\n      useCustomWorkingDirectory = "NO"\n'
            '      ignoresPersistentStateOnLaunch = "NO"\n      debugDocumentVersioning = "YES"\n'
            '      debugServiceExtension = "internal"\n      allowLocationSimulation = "YES">\n'
            + runnable + '   </LaunchAction>\n'
            '   <ProfileAction\n      buildConfiguration = "Release"\n      shouldUseLaunchSchemeArgsEnv = "YES"\n'
            '      savedToolIdentifier = ""\n      useCustomWorkingDirectory = "NO"\n'
            '      debugDocumentVersioning = "YES">\n' + runnable + '   </ProfileAction>\n'
            '   <AnalyzeAction\n      buildConfiguration = "Debug">\n   </AnalyzeAction>\n'
            '   <ArchiveAction\n      buildConfiguration = "Release"\n      revealArchiveInOrganizer = "YES">\n'
            '   </ArchiveAction>\n</Scheme>\n')


def outputs() -> dict[Path, str]:
    project_dir = ROOT / f"{APP}.xcodeproj"
    return {project_dir / "project.pbxproj": generate(),
            project_dir / "xcshareddata" / "xcschemes" / f"{APP}.xcscheme": scheme()}


def main(argv: list[str]) -> int:
    files = outputs()
    if "--check" in argv:
        stale = [p for p, text in files.items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
        for p in stale:
            print(f"{p.relative_to(ROOT)} is stale: run tools/generate_pbxproj.py")
        print("up to date" if not stale else "")
        return 1 if stale else 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
