//! Lost state: `destroy --stack NAME --from-tags` finds the stack's resources at AWS by their
//! tags (and by name where the API cannot search tags) and deletes them dependents first,
//! while look-alikes without the stack's tag (an untagged VPC, a role of the very name the
//! stack would use) survive. On the way: the state file is 0600 and holds no secret.

mod support;

use std::os::unix::fs::PermissionsExt;

use cloudcomp::aws::Cx;
use support::{census, default_stack, left_over, moto, run_with, stderr};

#[tokio::test(flavor = "multi_thread")]
async fn destroy_from_tags_deletes_the_stack_without_a_state_file_and_spares_look_alikes() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("lost{}", std::process::id());
    let file = default_stack(dir.path(), &name);
    let state = dir.path().join("state.json");
    let endpoint = moto();
    let cx = Cx::connect(&name, "us-east-1", Some(&endpoint), None).await;

    // moto accepts any credentials: a marked secret key shows whether it leaks anywhere.
    let secret = "secret-key-that-must-not-leak-0123456789";
    let up = run_with(
        &["up", "-f", &file, "--state", state.to_str().unwrap(), "--endpoint-url", &endpoint],
        &[("AWS_SECRET_ACCESS_KEY", secret)],
    )
    .await;
    assert!(up.status.success(), "{}", stderr(&up));
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(
        !saved.contains(secret)
            && !stderr(&up).contains(secret)
            && !String::from_utf8_lossy(&up.stdout).contains(secret)
    );
    assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o600, "the state file is not 0600");
    let deployed = left_over(census(&cx).await);
    assert!(deployed.len() >= 15, "{deployed:?}");
    // Look-alikes: same CIDR without tags; another stack's tag.
    let untagged = cx.ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.unwrap();
    let untagged = untagged.vpc().unwrap().vpc_id().unwrap().to_string();
    let other = cx
        .ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Vpc)
                .tags(aws_sdk_ec2::types::Tag::builder().key("cloudcomp:stack").value("someone-else").build())
                .tags(aws_sdk_ec2::types::Tag::builder().key("cloudcomp:address").value("vpc").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let other = other.vpc().unwrap().vpc_id().unwrap().to_string();

    std::fs::remove_file(&state).unwrap();
    let elsewhere = dir.path().join("elsewhere");
    let down = run_with(
        &[
            "destroy",
            "--stack",
            &name,
            "--from-tags",
            "--state",
            elsewhere.to_str().unwrap(),
            "--endpoint-url",
            &endpoint,
        ],
        &[],
    )
    .await;
    assert!(down.status.success(), "{}", stderr(&down));
    assert!(stderr(&down).contains("Found vpc: vpc-"), "{}", stderr(&down));
    let left = left_over(census(&cx).await);
    assert!(left.is_empty(), "destroy --from-tags left {left:?}\n{}", stderr(&down));
    for vpc in [&untagged, &other] {
        let found = cx.ec2.describe_vpcs().vpc_ids(vpc).send().await.unwrap();
        assert_eq!(found.vpcs().len(), 1, "the look-alike VPC {vpc} was deleted");
    }
    eprintln!(
        "REPORT from-tags: {} kinds found by tag or name and deleted without a state file; 2 look-alikes survived",
        deployed.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_from_tags_leaves_a_same_named_resource_without_the_tag_alone() {
    let name = format!("alike{}", std::process::id());
    let endpoint = moto();
    let cx = Cx::connect(&name, "us-east-1", Some(&endpoint), None).await;
    // The very role name the stack would use, created by someone else, untagged.
    let role = format!("{name}-instance");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    cx.iam.create_role().role_name(&role).assume_role_policy_document(trust).send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let down = run_with(
        &["destroy", "--stack", &name, "--from-tags", "--state", state.to_str().unwrap(), "--endpoint-url", &endpoint],
        &[],
    )
    .await;
    assert!(down.status.success(), "{}", stderr(&down));
    assert!(stderr(&down).contains("is not tagged cloudcomp:stack for this stack; left alone"), "{}", stderr(&down));
    assert!(cx.iam.get_role().role_name(&role).send().await.is_ok(), "the untagged role was deleted");
}
