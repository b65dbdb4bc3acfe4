//! Reading `num_rows` from a Parquet footer (Thrift compact protocol) without building the
//! schema: every other field is skipped, nothing is allocated from a length the input declares,
//! and nesting is bounded. Fuzzing showed that a general Parquet metadata decoder allocates
//! whatever a hostile footer's schema claims; this reader cannot.

use crate::error::{Error, Result};

/// Deepest struct/list nesting accepted (real footers nest a few levels).
const MAX_DEPTH: usize = 64;

/// Field id of `num_rows` in `FileMetaData`.
const NUM_ROWS_FIELD: i16 = 3;

fn corrupt(what: &str) -> Error {
    Error::invalid_backup(format!("Parquet footer: {what}"))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| corrupt("ends early"))?;
        self.pos += 1;
        Ok(b)
    }

    fn skip(&mut self, n: u64) -> Result<()> {
        let end = (self.pos as u64)
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len() as u64)
            .ok_or_else(|| corrupt("a length points past its end"))?;
        self.pos = end as usize;
        Ok(())
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err(corrupt("a varint overflows 64 bits"));
            }
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(corrupt("a varint is too long"))
    }

    fn zigzag(&mut self) -> Result<i64> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// Skips one value of compact type `kind`.
    fn skip_value(&mut self, kind: u8, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(corrupt("nested too deeply"));
        }
        match kind {
            1 | 2 => Ok(()), // boolean as a field: the value is in the type
            3 => self.skip(1),
            4..=6 => self.varint().map(|_| ()),
            7 => self.skip(8),
            8 => {
                let len = self.varint()?;
                self.skip(len)
            }
            9 | 10 => {
                let header = self.byte()?;
                let elem = header & 0x0f;
                let count = match header >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                for _ in 0..count {
                    if self.pos >= self.bytes.len() {
                        return Err(corrupt("a list claims more elements than it holds"));
                    }
                    self.skip_element(elem, depth + 1)?;
                }
                Ok(())
            }
            11 => {
                let count = self.varint()?;
                if count == 0 {
                    return Ok(());
                }
                let types = self.byte()?;
                for _ in 0..count {
                    if self.pos >= self.bytes.len() {
                        return Err(corrupt("a map claims more entries than it holds"));
                    }
                    self.skip_element(types >> 4, depth + 1)?;
                    self.skip_element(types & 0x0f, depth + 1)?;
                }
                Ok(())
            }
            12 => self.skip_struct(depth + 1).map(|_| ()),
            other => Err(corrupt(&format!("unknown Thrift type {other}"))),
        }
    }

    /// Skips one element of a list, set or map: booleans there take a byte each (as a
    /// struct field they take none), so every element consumes input and a hostile count
    /// cannot spin.
    fn skip_element(&mut self, kind: u8, depth: usize) -> Result<()> {
        if kind == 1 || kind == 2 {
            self.skip(1)
        } else {
            self.skip_value(kind, depth)
        }
    }

    /// Walks a struct; returns the value of i64 field `wanted` (at the top level) if present.
    fn skip_struct(&mut self, depth: usize) -> Result<Option<i64>> {
        self.struct_fields(depth, None)
    }

    fn struct_fields(&mut self, depth: usize, wanted: Option<i16>) -> Result<Option<i64>> {
        if depth > MAX_DEPTH {
            return Err(corrupt("nested too deeply"));
        }
        let mut last_id: i16 = 0;
        let mut found = None;
        loop {
            let header = self.byte()?;
            if header == 0 {
                return Ok(found);
            }
            let kind = header & 0x0f;
            let delta = header >> 4;
            let id = if delta == 0 {
                i16::try_from(self.zigzag()?).map_err(|_| corrupt("a field id is out of range"))?
            } else {
                last_id.wrapping_add(i16::from(delta))
            };
            last_id = id;
            if Some(id) == wanted && kind == 6 {
                found = Some(self.zigzag()?);
            } else {
                self.skip_value(kind, depth + 1)?;
            }
        }
    }
}

/// `num_rows` of a Parquet `FileMetaData` encoded in `footer`.
pub fn parquet_num_rows(footer: &[u8]) -> Result<i64> {
    let mut reader = Reader {
        bytes: footer,
        pos: 0,
    };
    let rows = reader
        .struct_fields(0, Some(NUM_ROWS_FIELD))?
        .ok_or_else(|| corrupt("no num_rows"))?;
    if rows < 0 {
        return Err(corrupt(&format!("num_rows is {rows}")));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn zigzag(v: i64) -> u64 {
        ((v << 1) ^ (v >> 63)) as u64
    }

    #[test]
    fn reads_num_rows_after_a_schema() {
        let mut f = Vec::new();
        f.push(0x15); // field 1, i32
        varint(zigzag(2), &mut f);
        f.push(0x19); // field 2, list
        f.push(0x2c); // 2 structs
        for _ in 0..2 {
            f.push(0x48); // field 4, binary (name)
            varint(3, &mut f);
            f.extend_from_slice(b"val");
            f.push(0x00);
        }
        f.push(0x16); // field 3, i64
        varint(zigzag(1200), &mut f);
        f.push(0x00);
        assert_eq!(parquet_num_rows(&f).unwrap(), 1200);
    }

    #[test]
    fn hostile_footers_are_errors() {
        // A list claiming 2^40 elements in five bytes.
        let mut f = vec![0x19, 0xfc];
        varint(1 << 40, &mut f);
        assert!(parquet_num_rows(&f).is_err());
        // A map of booleans claiming 2^40 entries: found by fuzzing as a hang, now an error.
        let mut f = vec![0x1b];
        varint(1 << 40, &mut f);
        f.push(0x11);
        assert!(parquet_num_rows(&f).is_err());
        // Deep nesting.
        let deep = vec![0x1c; 200];
        assert!(parquet_num_rows(&deep).is_err());
        // A binary longer than the footer, a truncated varint, nothing at all.
        assert!(parquet_num_rows(&[0x18, 0xff, 0xff, 0x7f]).is_err());
        assert!(parquet_num_rows(&[0x16, 0xff]).is_err());
        assert!(parquet_num_rows(&[]).is_err());
        assert!(parquet_num_rows(&[0x00]).is_err(), "no num_rows");
        let mut negative = vec![0x16];
        varint(zigzag(-5), &mut negative);
        negative.push(0);
        assert!(parquet_num_rows(&negative).is_err());
    }
}
