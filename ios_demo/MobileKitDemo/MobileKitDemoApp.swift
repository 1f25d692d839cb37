import SwiftUI

@main
struct MobileKitDemoApp: App {
    var body: some Scene {
        WindowGroup {
            ContentView()
        }
    }
}

struct ContentView: View {
    var body: some View {
        TabView {
            CameraScreen()
                .tabItem { Label("Camera", systemImage: "camera.viewfinder") }
            TranslateScreen()
                .tabItem { Label("Translate", systemImage: "character.bubble") }
        }
    }
}
