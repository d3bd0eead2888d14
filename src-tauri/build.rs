fn main() {
    // The window's assets are embedded at compile time; a new UI build must rebuild the app.
    println!("cargo:rerun-if-changed=../ui/dist");
    tauri_build::build()
}
