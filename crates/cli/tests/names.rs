//! Option and operation names: confab's kebab-case names equal botocore's `xform_name` for
//! every member and operation of the models (names.txt is written by golden/capture.py).

#[test]
fn cli_names_match_botocore() {
    let text = include_str!("golden/names.txt");
    let mut checked = 0;
    for line in text.lines() {
        let (name, want) = line.split_once('=').expect("Name=cli-name");
        assert_eq!(confab_cli::model::xform_name(name), want, "{name}");
        checked += 1;
    }
    assert!(checked > 300, "names.txt is too short: re-run capture.sh");
}
