//! QR decoding: the ZXing black-box photos (the project's accuracy goal) and
//! synthetic badge photos generated here (rotation, perspective, blur,
//! noise, low contrast, inversion, small modules).

use std::path::{Path, PathBuf};

use checkin_scan::{self as scan, Effort, synthetic};
use image::{GrayImage, Luma};
use imageproc::geometric_transformations::{Border, Interpolation, Projection, rotate_about_center, warp};

/// Codes read from the shared set must reach this (ZXing-C++ 3.1 reads 131).
const GOAL: usize = 135;

/// `../shared/testdata/qr-zxing` beside the repository (CI has it there too),
/// or `CHECKIN_QR_TESTDATA`.
fn test_set() -> PathBuf {
    if let Some(p) = std::env::var_os("CHECKIN_QR_TESTDATA") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/qr-zxing")
}

/// Images holding a second, different code that may be read instead of the
/// one the expected text names (ZXing's "double QR" sample): file → the
/// other code's text. Reading it is right, but does not count as a hit.
const OTHER_CODE: &[(&str, &str)] = &[(
    "qrcode-2/16.png",
    "[内側QRコード]\r\n\r\n*ダブルQR*\r\nhttp://d-qr.net/ex/",
)];

#[test]
fn reads_the_zxing_blackbox_set_without_a_wrong_result() {
    let root = test_set();
    assert!(
        root.join("qrcode-1").is_dir(),
        "the QR test set is missing at {}: it lives in shared/testdata/qr-zxing beside the repository \
         (or set CHECKIN_QR_TESTDATA to its folder)",
        root.display()
    );
    let (mut total, mut read) = (0, 0);
    let mut wrong = Vec::new();
    let mut missed = Vec::new();
    for set in 1..=4 {
        let dir = root.join(format!("qrcode-{set}"));
        let mut pngs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "png"))
            .collect();
        pngs.sort();
        for png in pngs {
            total += 1;
            let name = format!("qrcode-{set}/{}", png.file_name().unwrap().to_string_lossy());
            let expected = std::fs::read(png.with_extension("txt")).unwrap();
            let found = scan::decode_image(&std::fs::read(&png).unwrap()).unwrap();
            let mut hit = false;
            for d in &found {
                match &d.text {
                    Some(t) if t.as_bytes() == expected => hit = true,
                    Some(t) if OTHER_CODE.iter().any(|(n, other)| *n == name && other == t) => {}
                    Some(t) => wrong.push(format!(
                        "{name}: read {t:?}, expected {:?}",
                        String::from_utf8_lossy(&expected)
                    )),
                    None => {}
                }
            }
            if hit {
                read += 1;
            } else {
                missed.push(name);
            }
        }
    }
    eprintln!("read {read} of {total}; missed: {}", missed.join(", "));
    assert_eq!(total, 145, "the test set should hold 145 images");
    assert!(
        wrong.is_empty(),
        "wrong results (must never happen):\n{}",
        wrong.join("\n")
    );
    assert!(
        read >= GOAL,
        "read {read} of {total} codes, the goal is {GOAL}; missed: {}",
        missed.join(", ")
    );
}

const PX: f32 = 5.0;

/// A badge token's QR drawn at `module` px per module on a light page.
fn badge(token: &str, module: f32, margin: usize) -> GrayImage {
    let (n, _) = checkin_core::badge::qr_matrix(token).unwrap();
    let side = ((n + 8) as f32 * module).ceil() as usize + 2 * margin;
    let mut px = vec![235u8; side * side];
    synthetic::draw_qr(
        &mut px,
        side,
        token,
        margin as f32,
        margin as f32,
        module,
        25,
        235,
    )
    .unwrap();
    GrayImage::from_raw(side as u32, side as u32, px).unwrap()
}

fn reads(img: &GrayImage, token: &str) -> bool {
    let found = scan::decode_luma(img.width(), img.height(), img.as_raw()).unwrap();
    assert!(
        found.iter().all(|d| d.text.as_deref().is_none_or(|t| t == token)),
        "a wrong result: {found:?}"
    );
    found.iter().any(|d| d.text.as_deref() == Some(token))
}

#[test]
fn upright_and_rotated() {
    let token = synthetic::sample_token(1);
    let img = badge(&token, PX, 40);
    assert!(reads(&img, &token));
    for deg in [10.0f32, 30.0, 45.0, 90.0, 135.0, 180.0, 250.0] {
        let r = rotate_about_center(
            &img,
            deg.to_radians(),
            Interpolation::Bilinear,
            Border::Constant(Luma([235])),
        );
        assert!(reads(&r, &token), "rotated {deg}°");
    }
}

#[test]
fn perspective() {
    let token = synthetic::sample_token(2);
    let img = badge(&token, PX, 60);
    let s = img.width() as f32;
    // Tilted away at the top, and turned to one side.
    for to in [
        [(s * 0.12, s * 0.08), (s * 0.88, s * 0.08), (s, s), (0.0, s)],
        [(0.0, s * 0.1), (s * 0.8, 0.0), (s * 0.8, s), (0.0, s * 0.9)],
    ] {
        let p = Projection::from_control_points([(0.0, 0.0), (s, 0.0), (s, s), (0.0, s)], to).unwrap();
        let w = warp(&img, p, Interpolation::Bilinear, Border::Constant(Luma([235])));
        assert!(reads(&w, &token), "warped to {to:?}");
    }
}

#[test]
fn blur_noise_and_low_contrast() {
    let token = synthetic::sample_token(3);
    let img = badge(&token, PX, 40);
    let blurred = imageproc::filter::gaussian_blur_f32(&img, 1.3);
    assert!(reads(&blurred, &token), "blur");
    let noisy = imageproc::noise::gaussian_noise(&img, 0.0, 30.0, 7);
    assert!(reads(&noisy, &token), "noise");
    // Dim light: dark modules 110, paper 150.
    let mut low = img.clone();
    low.pixels_mut()
        .for_each(|p| p.0[0] = 110 + (p.0[0] as u16 * 40 / 255) as u8);
    assert!(reads(&low, &token), "low contrast");
    let both =
        imageproc::noise::gaussian_noise(&imageproc::filter::gaussian_blur_f32(&low, 1.0), 0.0, 5.0, 9);
    assert!(reads(&both, &token), "low contrast, blur and noise");
}

#[test]
fn inverted_like_a_phone_in_dark_mode() {
    let token = synthetic::sample_token(4);
    let mut img = badge(&token, PX, 40);
    image::imageops::invert(&mut img);
    assert!(reads(&img, &token));
    // Also within a webcam frame, at frame effort.
    let mut frame = synthetic::background(1280, 720, 6.0, 11);
    synthetic::draw_qr(&mut frame, 1280, &token, 500.0, 250.0, 4.5, 230, 40).unwrap();
    let found = scan::decode_luma_with(1280, 720, &frame, Effort::Frame).unwrap();
    assert_eq!(
        found.first().and_then(|d| d.text.as_deref()),
        Some(token.as_str())
    );
}

#[test]
fn small_modules_down_to_3_5_px() {
    let token = synthetic::sample_token(5);
    assert!(reads(&badge(&token, 3.5, 20), &token));
    // In a 720p webcam frame, at frame effort.
    let mut frame = synthetic::background(1280, 720, 6.0, 12);
    synthetic::draw_qr(&mut frame, 1280, &token, 300.0, 200.0, 3.5, 30, 215).unwrap();
    let found = scan::decode_luma_with(1280, 720, &frame, Effort::Frame).unwrap();
    assert_eq!(
        found.first().and_then(|d| d.text.as_deref()),
        Some(token.as_str())
    );
}

#[test]
fn webcam_frames_with_and_without_a_code() {
    for seed in 1..=3 {
        let token = synthetic::sample_token(seed as u128);
        let frame = synthetic::webcam_frame(200.0, seed);
        let found = scan::decode_luma_with(1280, 720, &frame, Effort::Frame).unwrap();
        let d = found.first().expect("the badge in the frame");
        assert_eq!(d.text.as_deref(), Some(token.as_str()));
        assert_eq!(d.bytes, token.as_bytes());
        // The outline is around the code (drawn near x 500..800, y 200..450).
        for (x, y) in d.corners {
            assert!(
                (450.0..850.0).contains(&x) && (150.0..500.0).contains(&y),
                "{:?}",
                d.corners
            );
        }
        let empty = synthetic::webcam_frame(0.0, seed);
        assert!(
            scan::decode_luma_with(1280, 720, &empty, Effort::Frame)
                .unwrap()
                .is_empty()
        );
    }
}

#[test]
fn odd_inputs_are_empty_results_or_clear_errors_never_panics() {
    assert!(scan::decode_luma(0, 0, &[]).unwrap().is_empty());
    assert!(scan::decode_luma(1, 1, &[0]).unwrap().is_empty());
    assert!(scan::decode_luma(30, 30, &[0; 900]).unwrap().is_empty());
    assert!(scan::decode_luma(64, 64, &[255; 64 * 64]).unwrap().is_empty());
    assert!(scan::decode_luma(100, 10, &[0; 10]).is_err());
    assert!(scan::decode_image(b"not an image").is_err());
    // Noise everywhere, and stripes that look like finder patterns.
    let noise = imageproc::noise::gaussian_noise(&GrayImage::from_pixel(320, 240, Luma([128])), 0.0, 80.0, 3);
    assert!(scan::decode_luma(320, 240, noise.as_raw()).unwrap().is_empty());
    let stripes: Vec<u8> = (0..320 * 240)
        .map(|i| if (i % 320 / 7) % 2 == 0 { 0 } else { 255 })
        .collect();
    assert!(scan::decode_luma(320, 240, &stripes).unwrap().is_empty());
}

#[test]
fn badge_png_from_the_project_generator_reads_back() {
    let token = synthetic::sample_token(6);
    let png = checkin_core::badge::qr_png(&token, 4).unwrap();
    let found = scan::decode_image(&png).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].text.as_deref(), Some(token.as_str()));
}
