//! Ferry's main job on the real Milvus 2.3 sample, through the `ferry` binary and the local plugin:
//! inspect, migrate, re-run, verify, dry run.

mod support;

use support::*;

fn collection<'a>(inventory: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    inventory["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("collection {name} in {inventory}"))
}

#[test]
fn plugins_lists_the_local_plugin() {
    let (code, doc) = ferry_json(&["plugins"]);
    assert_eq!(code, 0);
    let local = doc
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "local")
        .expect("local plugin registered");
    assert_eq!(local["schemes"], serde_json::json!(["file"]));
    assert_eq!(local["origin"]["kind"], "builtin");
    assert_eq!(local["capabilities"]["atomic_write"], true);
}

#[test]
fn inspect_reports_the_sample_inventory() {
    let sample = sample_backup();
    let (code, doc) = ferry_json(&["inspect", sample.to_str().unwrap()]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["valid"], true);
    let backups = doc["backups"].as_array().unwrap();
    assert_eq!(backups.len(), 1);
    let inv = &backups[0]["inventory"];
    assert_eq!(inv["name"], "real_backup_1");
    assert_eq!(inv["milvus_version"], "v2.3.5-lite");
    assert_eq!(inv["objects"], 37);
    assert_eq!(inv["collections"].as_array().unwrap().len(), 2);
    let docs = collection(inv, "docs");
    assert_eq!(docs["entities"], 3000);
    assert_eq!(docs["segments"], 2);
    assert_eq!(docs["delta_files"], 2);
    assert_eq!(docs["partitions"], serde_json::json!(["_default"]));
    let images = collection(inv, "images");
    assert_eq!(images["entities"], 500);
    assert_eq!(images["segments"], 2);
    assert_eq!(
        images["partitions"],
        serde_json::json!(["_default", "cats", "dogs"])
    );
    assert_eq!(inv["total_entities"], 3500);
    assert!(
        backups[0]["problems"].as_array().unwrap().is_empty(),
        "{doc}"
    );
}

#[test]
fn deep_inspect_counts_rows_and_deletes_in_real_binlogs() {
    let root = sample_backup().parent().unwrap().to_path_buf();
    let (code, doc) = ferry_json(&["inspect", root.to_str().unwrap(), "--deep"]);
    assert_eq!(code, 0, "{doc}");
    let report = &doc["backups"][0];
    assert_eq!(report["deep"]["files_read"], 32);
    let docs = collection(&report["inventory"], "docs");
    assert_eq!(
        docs["deleted_rows"], 10,
        "5 + 5 deletes in the two delta logs"
    );
    let rows = &report["deep"]["rows_by_collection"];
    assert_eq!(rows["470745661787078674"], 3000);
    assert_eq!(rows["470745661787478770"], 500);
}

#[test]
fn migrate_sample_is_byte_identical_and_verified() {
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("migrated");
    let sample = sample_backup();
    let (code, doc) = ferry_json(&["migrate", sample.to_str().unwrap(), dest.to_str().unwrap()]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["ok"], true);
    let b = &doc["backups"][0];
    assert_eq!(b["transfer"]["copied"], 37);
    assert_eq!(b["transfer"]["bytes_copied"], 174194);
    assert_eq!(b["verify"]["identical"], true);
    assert_eq!(collection(&b["verify"]["target"], "docs")["entities"], 3000);
    assert_eq!(
        collection(&b["verify"]["target"], "images")["entities"],
        500
    );
    let landed = dest.join("real_backup_1");
    assert_eq!(b["destination_location"], landed.to_str().unwrap());
    assert_eq!(tree(&sample), tree(&landed), "byte-identical tree");
    assert!(
        !dest.join(".ferry-partial").exists(),
        "no staging left behind"
    );
    assert_eq!(
        std::fs::read_dir(&dest).unwrap().count(),
        1,
        "only the backup folder"
    );

    // verify: clean both ways of naming the copy.
    let (code, v) = ferry_json(&[
        "verify",
        sample.to_str().unwrap(),
        dest.to_str().unwrap(),
        "--deep",
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["backups"][0]["checksums_compared"], 37);
    let (code, _) = ferry_json(&["verify", sample.to_str().unwrap(), landed.to_str().unwrap()]);
    assert_eq!(code, 0);
}

#[test]
fn rerun_skips_everything_already_copied() {
    let out = tempfile::tempdir().unwrap();
    let sample = sample_backup();
    let dest = out.path().join("d");
    let (code, _) = ferry_json(&["migrate", sample.to_str().unwrap(), dest.to_str().unwrap()]);
    assert_eq!(code, 0);
    let (code, doc) = ferry_json(&["migrate", sample.to_str().unwrap(), dest.to_str().unwrap()]);
    assert_eq!(code, 0, "{doc}");
    let t = &doc["backups"][0]["transfer"];
    assert_eq!(t["copied"], 0);
    assert_eq!(t["skipped"], 37);
}

#[test]
fn dry_run_writes_nothing() {
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("never");
    let sample = sample_backup();
    let (code, doc) = ferry_json(&[
        "migrate",
        sample.to_str().unwrap(),
        dest.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["backups"][0]["plan"]["copy"], 37);
    assert!(!dest.exists());
}

#[test]
fn verify_finds_tampered_and_missing_objects() {
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("d");
    let sample = sample_backup();
    let (code, _) = ferry_json(&["migrate", sample.to_str().unwrap(), dest.to_str().unwrap()]);
    assert_eq!(code, 0);
    let copy = dest.join("real_backup_1");
    // Same size, one byte flipped: a listing cannot see it, a content comparison does.
    let victim = copy.join("binlogs/insert_log/470745661787478770/470745661787478777/470745661787478789/470745661787478789/101/470745661787278710");
    let mut bytes = std::fs::read(&victim).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
    std::fs::write(&victim, &bytes).unwrap();
    let (code, _) = ferry_json(&[
        "verify",
        sample.to_str().unwrap(),
        dest.to_str().unwrap(),
        "--verify",
        "sizes",
    ]);
    assert_eq!(code, 0, "a same-size change is invisible to a listing");
    let (code, v) = ferry_json(&["verify", sample.to_str().unwrap(), dest.to_str().unwrap()]);
    assert_eq!(code, 8, "the default verification compares contents: {v}");
    let (code, v) = ferry_json(&[
        "verify",
        sample.to_str().unwrap(),
        dest.to_str().unwrap(),
        "--deep",
    ]);
    assert_eq!(code, 8, "{v}");
    let diffs = v["backups"][0]["differences"].as_array().unwrap();
    assert!(diffs.iter().any(|d| d["kind"] == "checksum_mismatch"
        && d["key"].as_str().unwrap().ends_with("470745661787278710")));
    // A missing object and an extra one are found by listing.
    std::fs::remove_file(copy.join("meta/segment_meta.json")).unwrap();
    std::fs::write(copy.join("binlogs/stray"), b"x").unwrap();
    let out = ferry(&["verify", sample.to_str().unwrap(), dest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(8));
    let t = text(&out);
    assert!(
        t.contains("MissingAtTarget") && t.contains("meta/segment_meta.json"),
        "{t}"
    );
    assert!(
        t.contains("ExtraAtTarget") && t.contains("binlogs/stray"),
        "{t}"
    );
}

#[test]
fn backup_selection_by_name() {
    let out = tempfile::tempdir().unwrap();
    let root = out.path().join("root");
    generate_backup(&root, "alpha", 2, 3, 100);
    generate_backup(&root, "beta", 1, 3, 100);
    let dest = out.path().join("d");
    let (code, doc) = ferry_json(&[
        "migrate",
        root.to_str().unwrap(),
        dest.to_str().unwrap(),
        "--backup",
        "beta",
    ]);
    assert_eq!(code, 0, "{doc}");
    assert!(dest.join("beta/meta/full_meta.json").exists());
    assert!(!dest.join("alpha").exists());
    let out = ferry(&[
        "migrate",
        root.to_str().unwrap(),
        dest.to_str().unwrap(),
        "--backup",
        "gamma",
    ]);
    assert_eq!(out.status.code(), Some(4));
    let t = text(&out);
    assert!(
        t.contains("gamma") && t.contains("alpha") && t.contains("beta"),
        "{t}"
    );
}

#[test]
fn human_output_names_the_migrated_folder() {
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("m");
    let sample = sample_backup();
    let run = ferry(&["migrate", sample.to_str().unwrap(), dest.to_str().unwrap()]);
    assert!(run.status.success(), "{}", text(&run));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains(&format!(
            "migrated backup folder: {}",
            dest.join("real_backup_1").display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("identical"), "{stdout}");
}

#[test]
fn verify_proves_every_objects_content_by_default_and_finds_a_flipped_byte() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("dest");
    let (code, doc) = ferry_json(&[
        "migrate",
        sample_backup().to_str().unwrap(),
        dest.to_str().unwrap(),
        "--no-job",
    ]);
    assert_eq!(code, 0, "{doc}");
    let v = &doc["backups"][0]["verify"];
    assert_eq!(v["identical"], true, "{v}");
    assert_eq!(
        v["contents_proven"], 37,
        "every object's content proven: {v}"
    );
    // A byte flipped in the copy, same size: only a content comparison can see it.
    let victim = dest.join("real_backup_1/binlogs/insert_log/470745661787478770/470745661787478777/470745661787478789/470745661787478789/101");
    let file = std::fs::read_dir(&victim)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    let out = ferry(&[
        "verify",
        sample_backup().to_str().unwrap(),
        dest.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(8), "{stdout}");
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(
        stdout.contains("ChecksumMismatch") && stdout.contains(name),
        "{stdout}"
    );
    // Asked for sizes only, the report never says "identical".
    let out = ferry(&[
        "verify",
        sample_backup().to_str().unwrap(),
        dest.to_str().unwrap(),
        "--verify",
        "sizes",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("sizes equal; contents not compared") && !stdout.contains("identical"),
        "{stdout}"
    );
}
