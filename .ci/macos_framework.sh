# Sourced by .ci/macos.sh (Linux) and .ci/build_library.sh (on a macOS host): what the addon's
# macOS framework is called and its Info.plist, so both build the same bundle.
#
# The layout is the one Godot's GDExtension loader and godot-cpp's template use on macOS:
#   webrtc_rs.macos.framework/webrtc_rs.macos          the universal (x86_64 + arm64) dylib
#   webrtc_rs.macos.framework/Resources/Info.plist     CFBundleExecutable names it
#   webrtc_rs.macos.framework/_CodeSignature/          added by signing the bundle
# Godot loads a .framework library through its bundle's executable; its exporter copies the
# framework into the app's Contents/Frameworks, where @rpath finds it.

macos_framework_name=webrtc_rs.macos
macos_framework="$macos_framework_name.framework"
macos_install_name="@rpath/$macos_framework/$macos_framework_name"

# macos_info_plist FILE: writes the framework's Info.plist, versioned as rust/Cargo.toml.
macos_info_plist() {
    local file="$1" version
    version="$(sed -n 's/^version = "\(.*\)"/\1/p' rust/Cargo.toml | head -n 1)"
    [ -n "$version" ] || { echo "macos_framework: no version in rust/Cargo.toml" >&2; return 1; }
    cat >"$file" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>CFBundleDevelopmentRegion</key>
	<string>en</string>
	<key>CFBundleExecutable</key>
	<string>$macos_framework_name</string>
	<key>CFBundleIdentifier</key>
	<string>org.webrtc-rs.godot.webrtc-rs</string>
	<key>CFBundleInfoDictionaryVersion</key>
	<string>6.0</string>
	<key>CFBundleName</key>
	<string>webrtc_rs</string>
	<key>CFBundlePackageType</key>
	<string>FMWK</string>
	<key>CFBundleShortVersionString</key>
	<string>$version</string>
	<key>CFBundleVersion</key>
	<string>$version</string>
	<key>CFBundleSupportedPlatforms</key>
	<array>
		<string>MacOSX</string>
	</array>
	<key>LSMinimumSystemVersion</key>
	<string>10.13</string>
</dict>
</plist>
PLIST
    python3 -c 'import plistlib, sys; plistlib.load(open(sys.argv[1], "rb"))' "$file" \
        || { echo "macos_framework: the Info.plist made in $file does not parse" >&2; return 1; }
}
