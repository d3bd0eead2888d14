//! Real, playable recording segments for the playback tests: Matroska with H.264 video (a moving
//! test pattern with the camera's name and a running clock) and AAC audio (a tone), as the recorder
//! writes them, made with GStreamer.

use std::path::Path;

use venue_desk::sim::rtsp::gst;
use venue_desk::sim::rtsp::gst::prelude::*;

/// Writes `seconds` of 320×180 15 fps H.264 + AAC into a Matroska file at `path` (its directory is
/// created). `label` is drawn on the picture.
pub fn write_segment(path: &Path, seconds: u32, label: &str, pattern: &str) {
    gst::init().unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let aac = ["avenc_aac", "voaacenc"]
        .into_iter()
        .find(|e| gst::ElementFactory::find(e).is_some())
        .expect("an AAC encoder (gstreamer1.0-libav: avenc_aac)");
    let frames = seconds * 15;
    // 44.1 kHz in buffers of 1024 samples: enough buffers to cover the video.
    let audio_buffers = seconds * 44 + 1;
    let desc = format!(
        "videotestsrc num-buffers={frames} pattern={pattern} ! video/x-raw,width=320,height=180,framerate=15/1 \
         ! textoverlay text=\"{label}\" valignment=top halignment=left font-desc=\"Sans 18\" \
         ! timeoverlay valignment=bottom font-desc=\"Sans 18\" \
         ! x264enc speed-preset=ultrafast key-int-max=15 ! h264parse ! queue ! mux. \
         audiotestsrc num-buffers={audio_buffers} samplesperbuffer=1024 freq=440 ! audio/x-raw,rate=44100,channels=1 \
         ! audioconvert ! {aac} ! aacparse ! queue ! mux. \
         matroskamux name=mux ! filesink location=\"{}\"",
        path.display()
    );
    let pipeline = gst::parse::launch(&desc).unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    for msg in bus.iter_timed(gst::ClockTime::from_seconds(60)) {
        match msg.view() {
            gst::MessageView::Eos(..) => break,
            gst::MessageView::Error(e) => {
                pipeline.set_state(gst::State::Null).unwrap();
                panic!("making {}: {} ({:?})", path.display(), e.error(), e.debug());
            }
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(std::fs::metadata(path).unwrap().len() > 1000, "{} was written", path.display());
}
