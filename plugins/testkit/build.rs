//! Embeds the real sample backup (`examples/backups/real_backup_1`, 37 small files) so the
//! round-trip check works wherever the kit runs, e.g. `ferry plugins check` on a vendor's
//! machine without the repository.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/backups/real_backup_1");
    let root = root
        .canonicalize()
        .expect("the sample backup is in the repository");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut all = Vec::new();
    files(&root, &mut all);
    let mut code = String::from("/// The sample backup's files: key relative to the backup folder, bytes.\npub const FILES: &[(&str, &[u8])] = &[\n");
    for path in &all {
        println!("cargo:rerun-if-changed={}", path.display());
        let key = path
            .strip_prefix(&root)
            .unwrap()
            .to_str()
            .expect("UTF-8 names")
            .replace('\\', "/");
        writeln!(
            code,
            "    ({key:?}, include_bytes!({:?})),",
            path.to_str().unwrap()
        )
        .unwrap();
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("sample.rs");
    std::fs::write(out, code).unwrap();
}
