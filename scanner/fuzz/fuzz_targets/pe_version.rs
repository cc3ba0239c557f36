//! The PE reader of .NET assemblies: headers, sections, the resource directory tree and the
//! `VS_VERSIONINFO` string tables (`System.Private.CoreLib.dll`'s `ProductVersion`).
#![no_main]

use fingerprints::kinds::dotnet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = scanner_fuzz::as_file(data);
    let _ = dotnet::product_version(file);
    let _ = dotnet::corelib_version(file);
});
