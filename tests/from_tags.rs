//! Lost state: `destroy --stack NAME --from-tags` finds the stack's resources at AWS by their
//! tags (and by name where the API cannot search tags) and deletes them dependents first,
//! while look-alikes without the stack's tag (an untagged VPC, a role of the very name the
//! stack would use) survive. On the way: the state file is 0600 and holds no secret.

mod support;

use std::os::unix::fs::PermissionsExt;

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use cloudcomp::aws::Cx;
use support::{Aws, census, default_stack, left_over, moto, run_with, stderr};

#[tokio::test(flavor = "multi_thread")]
async fn destroy_from_tags_deletes_the_stack_without_a_state_file_and_spares_look_alikes() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("lost{}", std::process::id());
    let file = default_stack(dir.path(), &name);
    let state = dir.path().join("state.json");
    let aws = Aws::start().await;
    let endpoint = aws.url();
    let cx = Cx::connect(&name, "us-east-1", Some(&moto()), None).await;

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
    let aws = Aws::start().await;
    let endpoint = aws.url();
    let cx = Cx::connect(&name, "us-east-1", Some(&moto()), None).await;
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

/// Tags for a resource of `ty` that claim to be the stack's `address`.
fn claiming(ty: ResourceType, stack: &str, address: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(ty)
        .tags(Tag::builder().key("cloudcomp:stack").value(stack).build())
        .tags(Tag::builder().key("cloudcomp:address").value(address).build())
        .build()
}

/// A cut-off run on real AWS can leave a second copy of an unnamed EC2 resource that its
/// state never recorded (it created one, the tag look-up of the next run lagged, and that
/// run created another). `destroy` — with the state file, and with `--from-tags` — deletes
/// every copy, inside-out, and is not stuck on one.
#[tokio::test(flavor = "multi_thread")]
async fn destroy_deletes_copies_a_cut_off_run_left_behind() {
    for from_tags in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("copies{}{}", std::process::id(), u8::from(from_tags));
        let file = default_stack(dir.path(), &name);
        let state = dir.path().join("state.json");
        let state = state.to_str().unwrap();
        let aws = Aws::start().await;
        let endpoint = aws.url();
        let cx = Cx::connect(&name, "us-east-1", Some(&moto()), None).await;
        let up = run_with(&["up", "-f", &file, "--state", state, "--endpoint-url", &endpoint], &[]).await;
        assert!(up.status.success(), "{}", stderr(&up));

        // Copies: a second VPC with a subnet and a route table in it, and a second route
        // table and security group in the recorded VPC.
        let vpc =
            cx.ec2.create_vpc().cidr_block("10.0.0.0/16").tag_specifications(claiming(ResourceType::Vpc, &name, "vpc"));
        let vpc = vpc.send().await.unwrap().vpc().unwrap().vpc_id().unwrap().to_string();
        let subnet = cx.ec2.create_subnet().vpc_id(&vpc).cidr_block("10.0.1.0/24");
        subnet.tag_specifications(claiming(ResourceType::Subnet, &name, "subnet.public[0]")).send().await.unwrap();
        let table = cx.ec2.create_route_table().vpc_id(&vpc);
        table.tag_specifications(claiming(ResourceType::RouteTable, &name, "route_table.public")).send().await.unwrap();
        let recorded: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap();
        let stack_vpc = recorded["resources"]["vpc"]["id"].as_str().unwrap().to_string();
        let table = cx.ec2.create_route_table().vpc_id(&stack_vpc);
        table.tag_specifications(claiming(ResourceType::RouteTable, &name, "route_table.public")).send().await.unwrap();
        let group = cx.ec2.create_security_group().group_name(format!("{name}-alb-copy")).description("copy");
        let group = group.vpc_id(&stack_vpc);
        group
            .tag_specifications(claiming(ResourceType::SecurityGroup, &name, "security_group.alb"))
            .send()
            .await
            .unwrap();
        let counted = census(&cx).await;
        assert_eq!((counted["vpc"], counted["route_table"]), (2, 3), "{counted:?}");

        let down = if from_tags {
            std::fs::remove_file(state).unwrap();
            let args = ["destroy", "--stack", &name, "--from-tags", "--state", state, "--endpoint-url", &endpoint];
            run_with(&args, &[]).await
        } else {
            run_with(&["destroy", "-f", &file, "--state", state, "--endpoint-url", &endpoint], &[]).await
        };
        assert!(down.status.success(), "destroy (from tags: {from_tags}) failed: {}", stderr(&down));
        assert!(stderr(&down).contains("Found a second route_table.public"), "{}", stderr(&down));
        let left = left_over(census(&cx).await);
        assert!(left.is_empty(), "destroy (from tags: {from_tags}) left {left:?}\n{}", stderr(&down));
        eprintln!(
            "REPORT copies: destroy (from tags: {from_tags}) deleted 5 planted copies and the stack; nothing left"
        );
    }
}
