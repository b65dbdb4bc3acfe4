//! PROPFIND: the request body, and a streaming parser of the multistatus answer (one entry at a
//! time, so a huge folder never sits in memory).

use std::io::BufRead;

use ferry_plugin_sdk::PluginError;
use percent_encoding::percent_decode_str;
use quick_xml::events::Event;
use quick_xml::Reader;

/// The properties asked for.
pub const BODY: &str = r#"<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:getcontentlength/></d:prop></d:propfind>"#;

/// One `<response>` of a multistatus.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The decoded path of the href (without scheme and host).
    pub path: String,
    /// A collection (folder).
    pub is_collection: bool,
    /// `getcontentlength`.
    pub size: u64,
}

#[derive(PartialEq)]
enum Field {
    None,
    Href,
    Length,
}

/// The path part of an href, percent-decoded.
fn href_path(href: &str) -> String {
    let href = href.trim();
    let path = match href.split_once("://") {
        Some((_, rest)) => rest.find('/').map(|i| &rest[i..]).unwrap_or("/"),
        None => href,
    };
    percent_decode_str(path).decode_utf8_lossy().into_owned()
}

fn xml_error(e: impl std::fmt::Display) -> PluginError {
    PluginError::internal(format!(
        "the server's PROPFIND answer is not valid XML: {e}"
    ))
}

/// Calls `each` per response; stops when it returns `false`.
pub fn parse(input: impl BufRead, each: &mut dyn FnMut(Entry) -> bool) -> Result<(), PluginError> {
    let mut reader = Reader::from_reader(input);
    let mut buf = Vec::new();
    let mut entry: Option<Entry> = None;
    let mut field = Field::None;
    let mut text = String::new();
    loop {
        let event = reader.read_event_into(&mut buf).map_err(xml_error)?;
        match event {
            Event::Start(e) => match e.local_name().as_ref() {
                b"response" => entry = Some(Entry::default()),
                b"href" => {
                    field = Field::Href;
                    text.clear();
                }
                b"getcontentlength" => {
                    field = Field::Length;
                    text.clear();
                }
                b"collection" => {
                    if let Some(en) = entry.as_mut() {
                        en.is_collection = true;
                    }
                }
                _ => {}
            },
            Event::Empty(e) if e.local_name().as_ref() == b"collection" => {
                if let Some(en) = entry.as_mut() {
                    en.is_collection = true;
                }
            }
            Event::Text(t) if field != Field::None => {
                text.push_str(&t.decode().map_err(xml_error)?);
            }
            Event::CData(t) if field != Field::None => {
                text.push_str(&t.decode().map_err(xml_error)?);
            }
            Event::GeneralRef(r) if field != Field::None => {
                if let Some(c) = r.resolve_char_ref().map_err(xml_error)? {
                    text.push(c);
                } else {
                    let name = r.decode().map_err(xml_error)?;
                    text.push(match name.as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => return Err(xml_error(format!("unknown entity &{other};"))),
                    });
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"href" => {
                    if let Some(en) = entry.as_mut() {
                        en.path = href_path(&text);
                    }
                    field = Field::None;
                }
                b"getcontentlength" => {
                    if let Some(en) = entry.as_mut() {
                        en.size = text.trim().parse().unwrap_or(0);
                    }
                    field = Field::None;
                }
                b"response" => {
                    if let Some(en) = entry.take() {
                        if !each(en) {
                            return Ok(());
                        }
                    }
                }
                _ => {}
            },
            Event::Eof => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_files_folders_and_escapes() {
        let xml = r#"<?xml version="1.0"?>
<D:multistatus xmlns:D="DAV:">
 <D:response><D:href>/dav/b/</D:href><D:propstat><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop></D:propstat></D:response>
 <D:response><D:href>http://127.0.0.1:8080/dav/b/a%20b&amp;c.bin</D:href><D:propstat><D:prop><D:resourcetype/><D:getcontentlength>42</D:getcontentlength></D:prop></D:propstat></D:response>
</D:multistatus>"#;
        let mut seen = Vec::new();
        parse(xml.as_bytes(), &mut |e| {
            seen.push(e);
            true
        })
        .unwrap();
        assert_eq!(seen.len(), 2);
        assert!(seen[0].is_collection);
        assert_eq!(seen[0].path, "/dav/b/");
        assert_eq!(seen[1].path, "/dav/b/a b&c.bin");
        assert_eq!(seen[1].size, 42);
        assert!(!seen[1].is_collection);
    }

    #[test]
    fn broken_xml_is_an_error() {
        assert!(parse("<a><b></a>".as_bytes(), &mut |_| true).is_err());
    }
}
