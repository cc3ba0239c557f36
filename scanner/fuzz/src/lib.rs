//! What the fuzz targets share: the fuzzer's input as a real file, since the parsers read container
//! files through `pread` on a `File` (and a root that opens them by path), exactly as in production.

use fingerprints::Root;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::OnceLock;

/// One file per fuzzing process, rewritten with each input (in `$TMPDIR`, which `hack/fuzz/run` points
/// at a directory of its own and removes afterwards).
struct Scratch {
    path: PathBuf,
    file: File,
}

fn scratch() -> &'static Scratch {
    static SCRATCH: OnceLock<Scratch> = OnceLock::new();
    SCRATCH.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("scanner-fuzz-{}", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Scratch { path, file }
    })
}

/// The input as an open regular file holding exactly `data`.
pub fn as_file(data: &[u8]) -> &'static File {
    let s = scratch();
    let written = s
        .file
        .set_len(0)
        .and_then(|()| s.file.write_all_at(data, 0));
    if let Err(e) = written {
        panic!("{}: {e}", s.path.display());
    }
    &s.file
}

/// A container root that holds one file, the input, at `path`; nothing else exists.
pub struct OneFileRoot {
    pub path: String,
}

impl OneFileRoot {
    /// Writes `data` as the root's only file at `path`.
    pub fn new(path: &str, data: &[u8]) -> OneFileRoot {
        as_file(data);
        OneFileRoot {
            path: path.to_owned(),
        }
    }
}

impl Root for OneFileRoot {
    fn open(&self, path: &str) -> io::Result<File> {
        if path == self.path {
            File::open(&scratch().path)
        } else {
            Err(io::ErrorKind::NotFound.into())
        }
    }
    fn read_dir(&self, _path: &str, _max: usize) -> io::Result<Vec<String>> {
        Err(io::ErrorKind::NotFound.into())
    }
    fn read_link(&self, _path: &str) -> io::Result<String> {
        Err(io::ErrorKind::NotFound.into())
    }
}
