//! 静态画面 — one JPEG picture of a camera, for a wall tile the window cannot play live (no MSE, or
//! a codec the webview cannot decode). The camera's stream is decoded only for the one picture and
//! the pipeline stops; a picture is reused for `REUSE` so several tiles or a fast poll cost one
//! decode.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

/// A picture younger than this is served again instead of decoding a new one.
pub const REUSE: Duration = Duration::from_millis(1500);

/// Decodes the first picture of `url` (RTSP over TCP) into a JPEG; an error says why not.
pub fn grab_jpeg(
    url: &str,
    username: Option<&str>,
    password: Option<&str>,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    gst::init().map_err(|e| e.to_string())?;
    let pipeline = gst::Pipeline::new();
    let make = |name: &str| gst::ElementFactory::make(name).build().map_err(|e| format!("{name}: {e}"));
    let src = make("uridecodebin")?;
    src.set_property("uri", url);
    let convert = make("videoconvert")?;
    let scale = make("videoscale")?;
    let jpeg =
        gst::ElementFactory::make("jpegenc").property("quality", 75i32).build().map_err(|e| e.to_string())?;
    // The first JPEG is taken off the sink's pad; the sink itself only discards.
    let sink =
        gst::ElementFactory::make("fakesink").property("sync", false).build().map_err(|e| e.to_string())?;
    pipeline.add_many([&src, &convert, &scale, &jpeg, &sink]).map_err(|e| e.to_string())?;
    gst::Element::link_many([&convert, &scale, &jpeg, &sink]).map_err(|e| e.to_string())?;
    {
        let user = username.map(str::to_string);
        let pw = password.map(str::to_string);
        src.connect("source-setup", false, move |args| {
            if let Some(source) = args.get(1).and_then(|a| a.get::<gst::Element>().ok())
                && source.has_property("protocols")
            {
                source.set_property_from_str("protocols", "tcp");
                if let Some(u) = &user {
                    source.set_property("user-id", u);
                }
                if let Some(p) = &pw {
                    source.set_property("user-pw", p);
                }
            }
            None
        });
    }
    {
        let pipeline_weak = pipeline.downgrade();
        let convert_sink = convert.static_pad("sink").ok_or("videoconvert pad")?;
        src.connect_pad_added(move |_, pad| {
            let is_video = pad
                .current_caps()
                .and_then(|c| c.structure(0).map(|s| s.name().starts_with("video/")))
                .unwrap_or(false);
            if is_video && !convert_sink.is_linked() {
                let _ = pad.link(&convert_sink);
            } else if let Some(p) = pipeline_weak.upgrade()
                && let Ok(f) = gst::ElementFactory::make("fakesink").property("sync", false).build()
            {
                // Sound is not pictured, but an unlinked pad would stop the camera's source.
                let _ = p.add(&f);
                let _ = f.sync_state_with_parent();
                if let Some(s) = f.static_pad("sink") {
                    let _ = pad.link(&s);
                }
            }
        });
    }
    let picture: Arc<Mutex<Option<Vec<u8>>>> = Arc::new(Mutex::new(None));
    pipeline.set_state(gst::State::Playing).map_err(|e| format!("cannot play: {e}"))?;
    let bus = pipeline.bus().expect("a pipeline has a bus");
    let deadline = Instant::now() + timeout;
    let pad = sink.static_pad("sink").ok_or("fakesink pad")?;
    {
        let picture = picture.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(gst::PadProbeData::Buffer(b)) = &info.data
                && let Ok(map) = b.map_readable()
            {
                picture.lock().unwrap().get_or_insert_with(|| map.as_slice().to_vec());
            }
            gst::PadProbeReturn::Ok
        });
    }
    let outcome = loop {
        if let Some(p) = picture.lock().unwrap().take() {
            break Ok(p);
        }
        if Instant::now() > deadline {
            break Err(format!("no picture within {} s", timeout.as_secs()));
        }
        if let Some(msg) = bus.timed_pop_filtered(
            gst::ClockTime::from_mseconds(50),
            &[gst::MessageType::Error, gst::MessageType::Eos],
        ) {
            match msg.view() {
                gst::MessageView::Error(e) => break Err(e.error().to_string()),
                _ => break Err("the camera ended the stream".into()),
            }
        }
    };
    let _ = pipeline.set_state(gst::State::Null);
    outcome
}
