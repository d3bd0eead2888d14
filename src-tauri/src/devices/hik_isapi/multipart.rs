//! An incremental `multipart/mixed` splitter for the ISAPI alert stream.
//!
//! The alert stream never ends, so parts must come out as soon as they are complete, whatever the
//! TCP segmentation. Controllers differ in the details (CRLF or bare LF, a `Content-Length` per part
//! or not, stray bytes before the first boundary or between parts), so the parser is deliberately
//! lenient, and it is pure — bytes in, parts out — so property tests can throw arbitrary chunkings
//! and garbage at it. Its output depends only on the concatenated input, never on how it was cut.

/// One part of the stream: its headers (names as sent) and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Part {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The `boundary` parameter of a `multipart/*` content type, without quotes. Devices sometimes
/// include the leading `--` in the parameter; the delimiter on the wire then has four dashes,
/// which is what RFC 2046 says, so the value is taken verbatim.
pub fn boundary_from_content_type(content_type: &str) -> Option<String> {
    let mut pieces = content_type.split(';');
    let mime = pieces.next()?.trim();
    if !mime.to_ascii_lowercase().starts_with("multipart/") {
        return None;
    }
    for p in pieces {
        let Some((k, v)) = p.split_once('=') else { continue };
        if k.trim().eq_ignore_ascii_case("boundary") {
            let v = v.trim().trim_matches('"');
            if !v.is_empty() {
                return Some(v.to_string());
            }
        }
    }
    None
}

#[derive(Debug)]
enum State {
    /// Looking for the next delimiter line; everything else is skipped.
    Seek,
    Headers,
    Body {
        headers: Vec<(String, String)>,
        content_length: Option<usize>,
    },
}

/// Longest run of transport padding tolerated after a delimiter before the line end.
const MAX_PADDING: usize = 256;

/// The incremental parser. Feed it bytes with [`MultipartParser::feed`]; it returns the parts
/// completed by those bytes.
#[derive(Debug)]
pub struct MultipartParser {
    delimiter: Vec<u8>,
    buf: Vec<u8>,
    state: State,
    /// In `Body` without a length: positions before this are known not to start a delimiter.
    scanned: usize,
    max_header: usize,
    max_body: usize,
}

enum Step {
    Part(Part),
    Continue,
    NeedMore,
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from >= hay.len() {
        return None;
    }
    hay[from..].windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

impl MultipartParser {
    /// Limits generous enough for any event with a picture reference, small enough that a stream
    /// of garbage cannot grow memory without bound.
    pub fn new(boundary: &str) -> Self {
        Self::with_limits(boundary, 16 * 1024, 4 * 1024 * 1024)
    }

    /// As [`Self::new`] with explicit header-block and body limits; an oversized part is skipped.
    pub fn with_limits(boundary: &str, max_header: usize, max_body: usize) -> Self {
        let mut delimiter = b"--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        MultipartParser {
            delimiter,
            buf: Vec::new(),
            state: State::Seek,
            scanned: 0,
            max_header: max_header.max(1),
            max_body: max_body.max(1),
        }
    }

    /// Bytes received but not yet part of a completed part.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    pub fn feed(&mut self, data: &[u8]) -> Vec<Part> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        loop {
            match self.step() {
                Step::Part(p) => out.push(p),
                Step::Continue => {}
                Step::NeedMore => break,
            }
        }
        out
    }

    /// Whether a delimiter at `i` is real: `Some(true)` yes, `Some(false)` no (e.g. a longer
    /// boundary that merely starts with ours), `None` when the next byte has not arrived yet.
    fn delimiter_at(&self, i: usize) -> Option<bool> {
        let after = i + self.delimiter.len();
        match self.buf.get(after) {
            None => None,
            Some(b'\r' | b'\n' | b' ' | b'\t' | b'-') => Some(true),
            Some(_) => Some(false),
        }
    }

    fn step(&mut self) -> Step {
        match &mut self.state {
            State::Seek => self.seek(),
            State::Headers => self.headers(),
            State::Body { content_length: Some(n), .. } => {
                let n = *n;
                if self.buf.len() < n {
                    return Step::NeedMore;
                }
                let body: Vec<u8> = self.buf.drain(..n).collect();
                let State::Body { headers, .. } = std::mem::replace(&mut self.state, State::Seek) else {
                    return Step::Continue;
                };
                Step::Part(Part { headers, body })
            }
            State::Body { content_length: None, .. } => self.body_until_delimiter(),
        }
    }

    fn seek(&mut self) -> Step {
        let d = self.delimiter.len();
        let mut from = 0;
        loop {
            let Some(i) = find(&self.buf, &self.delimiter, from) else {
                // Keep a tail that may be the start of a delimiter split across reads.
                let keep = (d - 1).min(self.buf.len());
                let cut = self.buf.len() - keep;
                self.buf.drain(..cut);
                return Step::NeedMore;
            };
            match self.delimiter_at(i) {
                None => {
                    self.buf.drain(..i);
                    return Step::NeedMore;
                }
                Some(false) => {
                    from = i + 1;
                    continue;
                }
                Some(true) => {}
            }
            let after = i + d;
            if self.buf[after] == b'-' {
                // Close delimiter `--boundary--`, or a false match `--boundary-x`.
                match self.buf.get(after + 1) {
                    None => {
                        self.buf.drain(..i);
                        return Step::NeedMore;
                    }
                    Some(b'-') => {
                        // The stream claims to end; keep looking in case the device carries on.
                        self.buf.drain(..after + 2);
                        return Step::Continue;
                    }
                    Some(_) => {
                        from = i + 1;
                        continue;
                    }
                }
            }
            let window_end = (after + MAX_PADDING + 1).min(self.buf.len());
            match self.buf[after..window_end].iter().position(|&b| b == b'\n') {
                Some(p) => {
                    self.buf.drain(..after + p + 1);
                    self.state = State::Headers;
                    return Step::Continue;
                }
                None if self.buf.len() - after > MAX_PADDING => {
                    from = i + 1;
                    continue;
                }
                None => {
                    self.buf.drain(..i);
                    return Step::NeedMore;
                }
            }
        }
    }

    fn headers(&mut self) -> Step {
        let mut pos = 0;
        let mut lines: Vec<(usize, usize)> = Vec::new();
        let end = loop {
            let Some(q) = self.buf[pos..].iter().position(|&b| b == b'\n').map(|q| q + pos) else {
                if self.buf.len() > self.max_header {
                    return self.skip_oversized(self.max_header);
                }
                return Step::NeedMore;
            };
            let mut line_end = q;
            if line_end > pos && self.buf[line_end - 1] == b'\r' {
                line_end -= 1;
            }
            if line_end == pos {
                break q + 1;
            }
            lines.push((pos, line_end));
            pos = q + 1;
        };
        if end > self.max_header {
            return self.skip_oversized(self.max_header);
        }
        let mut headers = Vec::new();
        let mut content_length = None;
        for (a, b) in lines {
            let line = String::from_utf8_lossy(&self.buf[a..b]);
            let Some((k, v)) = line.split_once(':') else { continue };
            let (k, v) = (k.trim().to_string(), v.trim().to_string());
            if k.eq_ignore_ascii_case("content-length") {
                content_length = v.parse::<usize>().ok().filter(|&n| n <= self.max_body);
            }
            headers.push((k, v));
        }
        self.buf.drain(..end);
        self.scanned = 0;
        self.state = State::Body { headers, content_length };
        Step::Continue
    }

    fn body_until_delimiter(&mut self) -> Step {
        let d = self.delimiter.len();
        let mut from = self.scanned;
        let found = loop {
            match find(&self.buf, &self.delimiter, from) {
                None => {
                    self.scanned = self.buf.len().saturating_sub(d - 1).max(from);
                    break None;
                }
                Some(i) => match self.delimiter_at(i) {
                    Some(true) => break Some(i),
                    Some(false) => from = i + 1,
                    None => {
                        self.scanned = i;
                        break None;
                    }
                },
            }
        };
        match found {
            Some(i) if i <= self.max_body => {
                let mut body: Vec<u8> = self.buf.drain(..i).collect();
                if body.last() == Some(&b'\n') {
                    body.pop();
                    if body.last() == Some(&b'\r') {
                        body.pop();
                    }
                }
                let State::Body { headers, .. } = std::mem::replace(&mut self.state, State::Seek) else {
                    return Step::Continue;
                };
                self.scanned = 0;
                Step::Part(Part { headers, body })
            }
            Some(_) => self.skip_oversized(self.max_body),
            None if self.scanned > self.max_body => self.skip_oversized(self.max_body),
            None => Step::NeedMore,
        }
    }

    /// Drops a part that exceeds the limits and resynchronises on the next delimiter. The number
    /// of bytes dropped depends only on the limit, so the outcome does not depend on chunking.
    fn skip_oversized(&mut self, n: usize) -> Step {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
        self.scanned = 0;
        self.state = State::Seek;
        Step::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn feed_all(p: &mut MultipartParser, data: &[u8], cuts: &[usize]) -> Vec<Part> {
        let mut out = Vec::new();
        let mut last = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        cuts.sort_unstable();
        for c in cuts {
            out.extend(p.feed(&data[last..c]));
            last = c;
        }
        out.extend(p.feed(&data[last..]));
        out
    }

    #[test]
    fn hikvision_json_stream_with_lengths() {
        let body = br#"{"eventType":"heartBeat"}"#;
        let mut s = Vec::new();
        for _ in 0..2 {
            s.extend_from_slice(b"--MIME_boundary\r\nContent-Type: application/json; charset=\"UTF-8\"\r\n");
            s.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
            s.extend_from_slice(body);
            s.extend_from_slice(b"\r\n");
        }
        let mut p = MultipartParser::new("MIME_boundary");
        let parts = p.feed(&s);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].body, body);
        assert_eq!(parts[0].header("content-type"), Some("application/json; charset=\"UTF-8\""));
    }

    #[test]
    fn lf_only_no_length_preamble_and_close() {
        let s = b"junk before\n--b\nContent-Type: application/xml\n\n<a>1</a>\n--b\n\n<a>2</a>\n--b--\n";
        let mut p = MultipartParser::new("b");
        let parts = p.feed(s);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].body, b"<a>1</a>");
        assert_eq!(parts[1].body, b"<a>2</a>");
        assert!(parts[1].headers.is_empty());
    }

    #[test]
    fn a_longer_boundary_is_not_ours() {
        let s = b"--bb\r\n\r\nX\r\n--b\r\n\r\nY\r\n--b\r\n";
        let parts = MultipartParser::new("b").feed(s);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].body, b"Y");
    }

    #[test]
    fn oversized_parts_are_skipped_and_the_stream_resumes() {
        let mut s = b"--b\r\nContent-Type: text/plain\r\n\r\n".to_vec();
        s.extend(std::iter::repeat_n(b'x', 500));
        s.extend_from_slice(b"\r\n--b\r\n\r\nsmall\r\n--b\r\n");
        let parts = MultipartParser::with_limits("b", 100, 100).feed(&s);
        assert_eq!(parts, vec![Part { headers: vec![], body: b"small".to_vec() }]);
    }

    #[test]
    fn boundary_from_content_types() {
        assert_eq!(
            boundary_from_content_type("multipart/mixed; boundary=MIME_boundary").as_deref(),
            Some("MIME_boundary")
        );
        assert_eq!(boundary_from_content_type("Multipart/Mixed;Boundary=\"a b\"").as_deref(), Some("a b"));
        assert_eq!(boundary_from_content_type("application/json"), None);
        assert_eq!(boundary_from_content_type("multipart/mixed"), None);
    }

    #[derive(Debug, Clone)]
    struct GenPart {
        content_type: Option<String>,
        with_length: bool,
        body: String,
    }

    fn gen_part() -> impl Strategy<Value = GenPart> {
        (
            proptest::option::of("(application/json|application/xml|text/plain)"),
            any::<bool>(),
            // Bodies never contain the delimiter and never end in CR (it would merge with the EOL).
            "[a-zA-Z0-9{}:,\"<>/ \n]{0,80}",
        )
            .prop_map(|(content_type, with_length, body)| GenPart {
                content_type,
                with_length,
                body,
            })
    }

    fn render(parts: &[GenPart], crlf: bool, preamble: &str) -> (Vec<u8>, Vec<Part>) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut s = preamble.as_bytes().to_vec();
        let mut expected = Vec::new();
        for p in parts {
            let mut headers = Vec::new();
            s.extend_from_slice(format!("--BOUNDARY{eol}").as_bytes());
            if let Some(ct) = &p.content_type {
                s.extend_from_slice(format!("Content-Type: {ct}{eol}").as_bytes());
                headers.push(("Content-Type".to_string(), ct.clone()));
            }
            if p.with_length {
                s.extend_from_slice(format!("Content-Length: {}{eol}", p.body.len()).as_bytes());
                headers.push(("Content-Length".to_string(), p.body.len().to_string()));
            }
            s.extend_from_slice(eol.as_bytes());
            s.extend_from_slice(p.body.as_bytes());
            s.extend_from_slice(eol.as_bytes());
            expected.push(Part { headers, body: p.body.as_bytes().to_vec() });
        }
        // The last part without a length is only complete once the next delimiter arrives.
        s.extend_from_slice(format!("--BOUNDARY{eol}").as_bytes());
        (s, expected)
    }

    proptest! {
        #[test]
        fn any_chunking_of_a_valid_stream_yields_the_same_parts(
            parts in proptest::collection::vec(gen_part(), 0..6),
            crlf in any::<bool>(),
            preamble in "[a-z \r\n]{0,20}",
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
        ) {
            let (stream, expected) = render(&parts, crlf, &preamble);
            let whole = MultipartParser::new("BOUNDARY").feed(&stream);
            prop_assert_eq!(&whole, &expected);
            let chunked = feed_all(&mut MultipartParser::new("BOUNDARY"), &stream, &cuts);
            prop_assert_eq!(chunked, expected);
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_chunking_does_not_matter(
            data in proptest::collection::vec(
                prop_oneof![any::<u8>(), Just(b'-'), Just(b'\n'), Just(b'\r'), Just(b'b')], 0..400),
            cuts in proptest::collection::vec(any::<usize>(), 0..20),
            max_header in 1usize..64,
            max_body in 1usize..64,
        ) {
            let whole = MultipartParser::with_limits("b", max_header, max_body).feed(&data);
            let chunked = feed_all(&mut MultipartParser::with_limits("b", max_header, max_body), &data, &cuts);
            prop_assert_eq!(whole, chunked);
        }

        #[test]
        fn byte_by_byte_equals_whole(parts in proptest::collection::vec(gen_part(), 0..4), crlf in any::<bool>()) {
            let (stream, expected) = render(&parts, crlf, "");
            let mut p = MultipartParser::new("BOUNDARY");
            let mut got = Vec::new();
            for b in &stream {
                got.extend(p.feed(std::slice::from_ref(b)));
            }
            prop_assert_eq!(got, expected);
        }
    }
}
