#!/usr/bin/env bash
# Builds the addon's library for one platform and places it in addons/webrtc_rs/lib/ under
# the name addons/webrtc_rs/webrtc_rs.gdextension gives it. One CI build job per platform.
#
#   .ci/build_library.sh PLATFORM [release|debug]
#
# PLATFORM: linux-x86_64, linux-arm64, windows-x86_64, macos-universal, android-arm64,
# android-x86_64, ios-arm64. `release` (the default) is what ships: optimised and stripped
# (cargo profile `dist`); `debug` is cargo's dev profile, for chasing a bug in the addon.
# The same file serves Godot's debug and release builds (both feature tags point at it):
# Godot's own debug/release split changes nothing in this library.
#
# Needs the Rust target installed (rustup target add ...; done here when rustup exists) and,
# per platform: the MSVC toolchain (windows), Xcode (macos, ios), the Android NDK in
# ANDROID_NDK_HOME (android). Linux builds run natively on a host of that architecture, except
# linux-arm64 on a host that is not arm64 (this project's x86_64 machines, whose rustup has no
# other targets and cannot fetch any): there it falls back to Debian sid's Rust with its prebuilt
# arm64 std and sid's aarch64 cross GCC (.ci/linux_arm64.sh, the toolchain unpacked into
# ~/.cache/webrtc_rs), a library linked against sid's glibc (.ci/test-arm64 runs it in Godot).
# windows-x86_64 on a host that is not Windows is built for x86_64-pc-windows-gnu with sid's Rust
# and MinGW-w64 (.ci/windows_gnu.sh; .ci/test-windows runs it under Wine).
# macos-universal is a framework bundle (webrtc_rs.macos.framework) built with Xcode on a Mac,
# and on any other host by .ci/macos.sh (sid's Rust, zig, LLVM's lld and rcodesign, no SDK).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
platform="${1:?usage: .ci/build_library.sh PLATFORM [release|debug]}"
profile="${2:-release}"
case "$profile" in
    release) cargo_profile=dist ;;
    debug) cargo_profile=dev ;;
    *) echo "build_library: unknown profile '$profile' (release or debug)" >&2; exit 2 ;;
esac
profile_dir() { [ "$cargo_profile" = dev ] && echo debug || echo "$cargo_profile"; }
bash .ci/patch_webrtc_rs.sh

# The oldest OS versions Godot 4.6 runs on (Apple Silicon Macs start at macOS 11).
export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-12.0}"
ANDROID_API=24

# Builds one Rust target and prints the path of the library it made.
build() {
    local target="$1" file="$2"
    if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$target"; then
        rustup target add "$target" >&2
    fi
    cargo build -p webrtc_rs --locked --target "$target" --profile "$cargo_profile" >&2
    echo "target/$target/$(profile_dir)/$file"
}

android_env() {
    local target="$1" clang_prefix="$2"
    local ndk="${ANDROID_NDK_HOME:-${ANDROID_NDK_LATEST_HOME:-}}"
    [ -n "$ndk" ] || { echo "build_library: set ANDROID_NDK_HOME to an Android NDK" >&2; exit 2; }
    local bin
    bin="$(echo "$ndk"/toolchains/llvm/prebuilt/*/bin)"
    local env_target="${target//-/_}"
    local upper
    upper="$(echo "$env_target" | tr '[:lower:]' '[:upper:]')"
    export "CARGO_TARGET_${upper}_LINKER=$bin/${clang_prefix}${ANDROID_API}-clang"
    export "CC_${env_target}=$bin/${clang_prefix}${ANDROID_API}-clang"
    export "AR_${env_target}=$bin/llvm-ar"
}

mkdir -p addons/webrtc_rs/lib
# Copy under a temporary name and rename, so a Godot holding the old library keeps it.
place() {
    local from="$1" name="$2"
    cp "$from" "addons/webrtc_rs/lib/.$name.new"
    mv -f "addons/webrtc_rs/lib/.$name.new" "addons/webrtc_rs/lib/$name"
    echo "build_library: addons/webrtc_rs/lib/$name ($platform, $profile)" >&2
}
# The same for a bundle (a folder): the old one is moved aside before the new one takes its
# name, and then removed.
place_dir() {
    local from="$1" name="$2" lib=addons/webrtc_rs/lib
    rm -rf "$lib/.$name.new" "$lib/.$name.old"
    cp -R "$from" "$lib/.$name.new"
    if [ -e "$lib/$name" ]; then mv "$lib/$name" "$lib/.$name.old"; fi
    mv "$lib/.$name.new" "$lib/$name"
    rm -rf "$lib/.$name.old"
    echo "build_library: $lib/$name ($platform, $profile)" >&2
}

case "$platform" in
    linux-x86_64)
        lib="$(build x86_64-unknown-linux-gnu libwebrtc_rs.so)"; place "$lib" libwebrtc_rs.linux.x86_64.so ;;
    linux-arm64)
        if [ "$(uname -m)" = aarch64 ]; then
            lib="$(build aarch64-unknown-linux-gnu libwebrtc_rs.so)"
        else
            # Not arm64 here: an installed rustup target would still lack a cross linker and
            # an arm64 glibc to link against, so sid's cross toolchain builds it.
            lib="$(bash .ci/linux_arm64.sh "$profile" | tail -n 1)"
        fi
        place "$lib" libwebrtc_rs.linux.arm64.so ;;
    windows-x86_64)
        case "$(uname -s)" in
            MINGW* | MSYS* | CYGWIN* | Windows_NT) lib="$(build x86_64-pc-windows-msvc webrtc_rs.dll)" ;;
            # Not Windows: sid's Rust and MinGW-w64 build it for x86_64-pc-windows-gnu (the
            # library .ci/test-windows runs under Wine); the C ABI Godot calls is the same.
            *) lib="$(bash .ci/windows_gnu.sh "$profile" | tail -n 1)" ;;
        esac
        place "$lib" webrtc_rs.windows.x86_64.dll ;;
    macos-universal)
        # A framework bundle (.ci/macos_framework.sh): Godot's layout for a macOS GDExtension.
        source .ci/macos_framework.sh
        if [ "$(uname -s)" = Darwin ]; then
            arm="$(MACOSX_DEPLOYMENT_TARGET=11.0 build aarch64-apple-darwin libwebrtc_rs.dylib)"
            intel="$(MACOSX_DEPLOYMENT_TARGET=10.13 build x86_64-apple-darwin libwebrtc_rs.dylib)"
            fw="target/universal-apple-darwin/$macos_framework"
            rm -rf "$fw"
            mkdir -p "$fw/Resources"
            lipo -create "$arm" "$intel" -output "$fw/$macos_framework_name"
            # The install name a framework inside an app bundle's Contents/Frameworks has.
            install_name_tool -id "$macos_install_name" "$fw/$macos_framework_name"
            macos_info_plist "$fw/Resources/Info.plist"
            # Ad-hoc signature: Apple Silicon refuses to load unsigned code. Exported games are
            # signed again by Godot's exporter with the developer's identity.
            codesign --force --sign - "$fw"
            codesign --verify --strict --verbose=2 "$fw"
        else
            # Not a Mac: Debian sid's Rust, zig and LLVM's lld build and sign it here.
            fw="$(bash .ci/macos.sh "$profile" | tail -n 1)"
        fi
        place_dir "$fw" "$macos_framework" ;;
    android-arm64)
        android_env aarch64-linux-android aarch64-linux-android
        lib="$(build aarch64-linux-android libwebrtc_rs.so)"; place "$lib" libwebrtc_rs.android.arm64.so ;;
    android-x86_64)
        android_env x86_64-linux-android x86_64-linux-android
        lib="$(build x86_64-linux-android libwebrtc_rs.so)"; place "$lib" libwebrtc_rs.android.x86_64.so ;;
    ios-arm64)
        # Godot's iOS exporter wraps a .dylib GDExtension library into a framework.
        lib="$(build aarch64-apple-ios libwebrtc_rs.dylib)"
        install_name_tool -id @rpath/libwebrtc_rs.ios.arm64.dylib "$lib"
        codesign --force --sign - "$lib"
        place "$lib" libwebrtc_rs.ios.arm64.dylib ;;
    *)
        echo "build_library: unknown platform '$platform'" >&2
        exit 2 ;;
esac
