#!/usr/bin/env python3
"""Checks the ad-hoc code signature of a macOS framework bundle, on any OS (standard library
only): what `codesign --verify` checks for an ad-hoc signature, which has no certificate
chain to check.

    python3 .ci/check_macos_signature.py PATH.framework

For every slice of the bundle's executable (Resources/Info.plist's CFBundleExecutable, a thin
or universal Mach-O): the LC_CODE_SIGNATURE super blob holds a code directory (and maybe
alternate ones) flagged ad hoc, whose page hashes match the slice's bytes up to its code
limit and whose special slots match Info.plist (slot 1), the requirements blob (slot 2) and
_CodeSignature/CodeResources (slot 3). Then every file of the bundle other than those is
listed in CodeResources' files2 with a matching SHA-256 (Info.plist may be left out), and every file listed there exists.
.ci/macos.sh runs it after rcodesign signed the framework (rcodesign 0.29's own verify
rejects ad-hoc signatures: it tries to parse their empty CMS blob). Exits non-zero with a
message on the first problem; prints one line per slice on success.
"""
import hashlib
import os
import plistlib
import struct
import sys
from xml.parsers.expat import ExpatError

LC_CODE_SIGNATURE = 0x1D
CSMAGIC_EMBEDDED_SIGNATURE = 0xFADE0CC0
CSMAGIC_CODEDIRECTORY = 0xFADE0C02
CSMAGIC_REQUIREMENTS = 0xFADE0C01
CS_ADHOC = 0x2
SLOT_CODEDIRECTORY, SLOT_REQUIREMENTS = 0, 2
SLOT_ALTERNATE_CODEDIRECTORIES = range(0x1000, 0x1005)
HASHES = {1: "sha1", 2: "sha256", 3: "sha256"}  # 3: SHA-256 truncated to 20 bytes
CPU_NAMES = {0x01000007: "x86_64", 0x0100000C: "arm64"}


class Invalid(Exception):
    pass


def digest(hash_type, data):
    name = HASHES.get(hash_type)
    if name is None:
        raise Invalid(f"unknown hash type {hash_type}")
    return hashlib.new(name, data).digest()


def slices(data):
    """(cpu name, bytes) of each Mach-O in a thin or fat file."""
    magic = struct.unpack_from(">I", data)[0]
    if magic == 0xCAFEBABE:
        count = struct.unpack_from(">I", data, 4)[0]
        out = []
        for i in range(count):
            cpu, _sub, offset, size, _align = struct.unpack_from(">iiIII", data, 8 + 20 * i)
            out.append((CPU_NAMES.get(cpu & 0xFFFFFFFF, hex(cpu)), data[offset:offset + size]))
        return out
    if struct.unpack_from("<I", data)[0] == 0xFEEDFACF:
        cpu = struct.unpack_from("<I", data, 4)[0]
        return [(CPU_NAMES.get(cpu, hex(cpu)), data)]
    raise Invalid("not a 64-bit Mach-O or universal binary")


def signature_blob(macho):
    ncmds = struct.unpack_from("<I", macho, 16)[0]
    offset = 32  # mach_header_64
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", macho, offset)
        if cmd == LC_CODE_SIGNATURE:
            dataoff, datasize = struct.unpack_from("<II", macho, offset + 8)
            return macho[dataoff:dataoff + datasize]
        offset += size
    raise Invalid("no LC_CODE_SIGNATURE load command: the slice is not signed")


def check_code_directory(macho, cd, specials):
    (magic, length, version, flags, hash_offset, ident_offset, n_special, n_code, code_limit,
     hash_size, hash_type, _platform, page_log2) = struct.unpack_from(">IIIIIIIIIBBBB", cd)
    if magic != CSMAGIC_CODEDIRECTORY:
        raise Invalid(f"code directory magic {magic:#x}")
    if version >= 0x20300:
        code_limit_64 = struct.unpack_from(">Q", cd, 56)[0]
        if code_limit_64:
            code_limit = code_limit_64
    if not flags & CS_ADHOC:
        raise Invalid(f"code directory flags {flags:#x} are not ad hoc")
    identifier = cd[ident_offset:cd.index(b"\0", ident_offset)].decode()
    page = 1 << page_log2 if page_log2 else code_limit
    if code_limit > len(macho):
        raise Invalid(f"code limit {code_limit} is past the end of the slice ({len(macho)} bytes)")
    expected_pages = (code_limit + page - 1) // page
    if n_code != expected_pages:
        raise Invalid(f"{n_code} page hashes for {expected_pages} pages")
    for i in range(n_code):
        stored = cd[hash_offset + i * hash_size:hash_offset + (i + 1) * hash_size]
        actual = digest(hash_type, macho[i * page:min((i + 1) * page, code_limit)])[:hash_size]
        if stored != actual:
            raise Invalid(f"page {i} (bytes {i * page}..) does not match its hash: the binary changed after signing")
    for slot, (what, content) in specials.items():
        if slot > n_special:
            raise Invalid(f"no special slot {slot} ({what})")
        stored = cd[hash_offset - slot * hash_size:hash_offset - (slot - 1) * hash_size]
        if content is None:
            raise Invalid(f"{what} is missing")
        if stored != digest(hash_type, content)[:hash_size]:
            raise Invalid(f"special slot {slot} does not match {what}")
    return identifier, HASHES[hash_type], n_code, code_limit


def check_slice(macho, info_plist, code_resources):
    blob = signature_blob(macho)
    magic, _length, count = struct.unpack_from(">III", blob)
    if magic != CSMAGIC_EMBEDDED_SIGNATURE:
        raise Invalid(f"signature super blob magic {magic:#x}")
    index = dict(struct.unpack_from(">II", blob, 12 + 8 * i) for i in range(count))
    if SLOT_CODEDIRECTORY not in index:
        raise Invalid("the signature has no code directory")

    def blob_at(offset):
        length = struct.unpack_from(">I", blob, offset + 4)[0]
        return blob[offset:offset + length]

    requirements = blob_at(index[SLOT_REQUIREMENTS]) if SLOT_REQUIREMENTS in index else None
    if requirements is not None and struct.unpack_from(">I", requirements)[0] != CSMAGIC_REQUIREMENTS:
        raise Invalid("the requirements blob has a wrong magic")
    specials = {1: ("Resources/Info.plist", info_plist), 3: ("_CodeSignature/CodeResources", code_resources)}
    if requirements is not None:
        specials[2] = ("the requirements blob", requirements)
    results = []
    for slot in [SLOT_CODEDIRECTORY, *SLOT_ALTERNATE_CODEDIRECTORIES]:
        if slot in index:
            results.append(check_code_directory(macho, blob_at(index[slot]), specials))
    return results


def check_resources(bundle, executable, code_resources):
    files2 = plistlib.loads(code_resources).get("files2", {})
    present = set()
    for folder, _dirs, files in os.walk(bundle):
        for file in files:
            rel = os.path.relpath(os.path.join(folder, file), bundle)
            if rel == executable or rel.startswith("_CodeSignature/"):
                continue
            present.add(rel)
            entry = files2.get(rel)
            if entry is None and rel == "Resources/Info.plist":
                continue  # bound by the code directory's special slot 1 anyway
            if entry is None:
                raise Invalid(f"{rel} is not sealed by _CodeSignature/CodeResources")
            with open(os.path.join(bundle, rel), "rb") as f:
                if entry.get("hash2") != hashlib.sha256(f.read()).digest():
                    raise Invalid(f"{rel} does not match its hash in _CodeSignature/CodeResources")
    for rel, entry in files2.items():
        if rel not in present and not (isinstance(entry, dict) and entry.get("optional")):
            raise Invalid(f"_CodeSignature/CodeResources lists {rel}, which is missing")
    return len(present)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_macos_signature.py PATH.framework")
    bundle = sys.argv[1].rstrip("/")

    def read(rel):
        path = os.path.join(bundle, rel)
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    info_plist = read("Resources/Info.plist")
    code_resources = read("_CodeSignature/CodeResources")
    try:
        if info_plist is None:
            raise Invalid("no Resources/Info.plist")
        if code_resources is None:
            raise Invalid("no _CodeSignature/CodeResources: the bundle is not signed")
        executable = plistlib.loads(info_plist).get("CFBundleExecutable")
        binary = read(executable) if executable else None
        if binary is None:
            raise Invalid(f"Info.plist's CFBundleExecutable '{executable}' is not a file of the bundle")
        for cpu, macho in slices(binary):
            try:
                for identifier, hash_name, pages, limit in check_slice(macho, info_plist, code_resources):
                    print(f"check_macos_signature: {executable} [{cpu}]: ad-hoc signature valid: "
                          f"identifier {identifier}, {hash_name}, {pages} pages ({limit} bytes), "
                          f"Info.plist and CodeResources bound")
            except Invalid as e:
                raise Invalid(f"{executable} [{cpu}]: {e}") from None
        sealed = check_resources(bundle, executable, code_resources)
        print(f"check_macos_signature: {bundle}: CodeResources seals the bundle's {sealed} other file(s)")
    except (Invalid, struct.error, ValueError, ExpatError) as e:
        sys.exit(f"check_macos_signature: {bundle}: {e}")


if __name__ == "__main__":
    main()
