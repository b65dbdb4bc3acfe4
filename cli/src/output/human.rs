//! Human-readable tables and summaries.

use ferry_core::backup::{BackupReport, Problem, Severity};
use indicatif::HumanBytes;

/// A plain text table: a header row and rows, columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| -> String {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(header.iter().map(|h| h.to_string()).collect())];
    out.extend(rows.iter().map(|r| line(r.clone())));
    out.iter().map(|l| format!("  {l}\n")).collect()
}

/// Bytes for people: `155786 B (152.13 KiB)`.
pub fn bytes(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else {
        format!("{n} B = {}", HumanBytes(n))
    }
}

/// One problem as a line.
pub fn problem_line(p: &Problem) -> String {
    let severity = match p.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    match &p.key {
        Some(k) => format!("  {severity:<7}  {:?}: {} [{k}]", p.code, p.message),
        None => format!("  {severity:<7}  {:?}: {}", p.code, p.message),
    }
}

/// The inspect report of one backup.
pub fn backup_report(r: &BackupReport) -> String {
    let inv = &r.inventory;
    let mut out = format!("Backup {}  ({})\n", inv.name, r.location);
    out += &format!(
        "  Milvus {} · format {} · tree from {:?} · backup id {}\n",
        if inv.milvus_version.is_empty() {
            "?"
        } else {
            &inv.milvus_version
        },
        inv.format,
        inv.tree_source,
        if inv.backup_id.is_empty() {
            "?"
        } else {
            &inv.backup_id
        },
    );
    out += &format!(
        "  {} objects, {}; {} collections, {} entities\n\n",
        inv.objects,
        bytes(inv.bytes),
        inv.collections.len(),
        inv.total_entities
    );
    let deep = inv.collections.iter().any(|c| c.deleted_rows.is_some());
    let mut header = vec![
        "DB",
        "COLLECTION",
        "ID",
        "PARTITIONS",
        "SEGMENTS",
        "L0",
        "INSERT FILES",
        "DELTA FILES",
        "ENTITIES",
    ];
    if deep {
        header.push("DELETES");
    }
    header.push("BYTES");
    let rows: Vec<Vec<String>> = inv
        .collections
        .iter()
        .map(|c| {
            let mut row = vec![
                c.db.clone(),
                c.name.clone(),
                c.id.to_string(),
                format!("{} ({})", c.partitions.len(), c.partitions.join(", ")),
                c.segments.to_string(),
                c.l0_segments.to_string(),
                c.insert_files.to_string(),
                c.delta_files.to_string(),
                c.entities.to_string(),
            ];
            if deep {
                row.push(c.deleted_rows.unwrap_or(0).to_string());
            }
            row.push(c.bytes.to_string());
            row
        })
        .collect();
    out += &table(&header, &rows);
    if let Some(d) = &r.deep {
        out += &format!(
            "\n  Deep check: {} binlogs opened; row counts {} the meta\n",
            d.files_read,
            if r.problems
                .iter()
                .any(|p| matches!(p.code, ferry_core::backup::ProblemCode::RowCountMismatch))
            {
                "DIFFER FROM"
            } else {
                "match"
            }
        );
    }
    out += "\n";
    if r.problems.is_empty() {
        out += "  Problems: none\n";
    } else {
        out += &format!("  Problems ({}):\n", r.problems.len());
        for p in &r.problems {
            out += &problem_line(p);
            out += "\n";
        }
    }
    out += &format!(
        "  Valid: {}\n",
        if r.valid { "yes" } else { "NO (errors above)" }
    );
    out
}

/// How a verification proved the copy: keys and sizes, then how many objects' contents were
/// proven and by what (checksums recorded while copying or reported by both stores, or a re-read
/// and hash of both sides).
pub fn verify_proof(v: &ferry_core::verify::VerifyReport) -> String {
    let by_checksum = v.contents_proven.saturating_sub(v.rehashed);
    format!(
        "{} objects, {} compared by key and size; contents proven for {} of {} objects ({} by checksums, {} re-read and hashed on both sides)",
        v.objects_compared,
        bytes(v.bytes_compared),
        v.contents_proven,
        v.objects_compared,
        by_checksum,
        v.rehashed
    )
}

/// The one-word verdict of a verification: "identical" only when every object's content was
/// proven and nothing differs.
pub fn verdict(v: &ferry_core::verify::VerifyReport) -> &'static str {
    if v.identical {
        "identical"
    } else if v.differences.is_empty()
        && v.not_compared.iter().any(|n| n.contains("--verify sizes"))
    {
        "sizes equal; contents not compared"
    } else if v.differences.is_empty() {
        "no differences in what could be compared"
    } else {
        "DIFFERENCES FOUND"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_columns() {
        let t = table(&["A", "LONG"], &[vec!["xyz".into(), "1".into()]]);
        assert_eq!(t, "  A    LONG\n  xyz  1\n");
    }

    #[test]
    fn bytes_shows_exact_count() {
        assert_eq!(bytes(12), "12 B");
        assert!(bytes(155786).starts_with("155786 B"));
    }
}
