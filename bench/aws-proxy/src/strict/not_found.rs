//! What each service answers when a call names an EC2 id it does not know (yet): the codes of
//! the EC2 API's "Error codes" reference, and the messages EC2, Elastic Load Balancing and
//! Auto Scaling give for them.

/// EC2's error for `id`, named by the parameter `param`: by the id's prefix, except that
/// routes name an internet gateway as a gateway (`GatewayId` → `InvalidGatewayID.NotFound`).
pub(super) fn ec2(param: &str, id: &str) -> Option<(&'static str, String)> {
    if last_name(param) == "GatewayId" {
        return Some(("InvalidGatewayID.NotFound", format!("The gateway ID '{id}' does not exist")));
    }
    let (prefix, _) = id.split_once('-')?;
    Some(match prefix {
        "vpc" => ("InvalidVpcID.NotFound", format!("The vpc ID '{id}' does not exist")),
        "subnet" => ("InvalidSubnetID.NotFound", format!("The subnet ID '{id}' does not exist")),
        "igw" => ("InvalidInternetGatewayID.NotFound", format!("The internetGateway ID '{id}' does not exist")),
        "rtb" => ("InvalidRouteTableID.NotFound", format!("The routeTable ID '{id}' does not exist")),
        "sg" => ("InvalidGroup.NotFound", format!("The security group '{id}' does not exist")),
        "lt" => (
            "InvalidLaunchTemplateId.NotFound",
            format!("The specified launch template, with template ID {id}, does not exist."),
        ),
        _ => return None,
    })
}

/// Elastic Load Balancing's error for a subnet, security group or VPC id.
pub(super) fn elb(id: &str) -> Option<(&'static str, String)> {
    let (prefix, _) = id.split_once('-')?;
    Some(match prefix {
        "subnet" => ("SubnetNotFound", format!("The subnet ID '{id}' is not valid")),
        "sg" => ("InvalidSecurityGroup", format!("The security group '{id}' does not exist")),
        "vpc" => ("ValidationError", format!("The VPC ID '{id}' is not found")),
        _ => return None,
    })
}

/// Auto Scaling's error for a subnet or launch template id.
pub(super) fn auto_scaling(id: &str) -> Option<(&'static str, String)> {
    let (prefix, _) = id.split_once('-')?;
    Some(match prefix {
        "subnet" => ("ValidationError", format!("The subnet ID '{id}' does not exist")),
        "lt" => (
            "ValidationError",
            format!(
                "You must use a valid fully-formed launch template. The specified launch template, \
                 with template ID {id}, does not exist."
            ),
        ),
        _ => return None,
    })
}

/// Whether the query parameter `param` names EC2 ids: its name, less list indexes, ends in
/// `Id` (`VpcId`, `SecurityGroupId.1`, `ResourceId.2`, `LaunchTemplate.LaunchTemplateId`);
/// filter values (`Filter.1.Value.1`) do not.
pub(super) fn names_an_id(param: &str) -> bool {
    last_name(param).ends_with("Id")
}

/// The last segment of a parameter's name that is not a list index: `SecurityGroupId.1` →
/// `SecurityGroupId`.
fn last_name(param: &str) -> &str {
    param.rsplit('.').find(|segment| !segment.chars().all(|c| c.is_ascii_digit())).unwrap_or(param)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_parameters_are_told_from_the_others() {
        for id in
            ["VpcId", "SecurityGroupId.1", "ResourceId.2", "LaunchTemplate.LaunchTemplateId", "GroupId", "VpcId.1"]
        {
            assert!(names_an_id(id), "{id}");
        }
        for other in ["Filter.1.Value.1", "Filter.1.Name", "CidrBlock", "Tag.1.Value", "Action"] {
            assert!(!names_an_id(other), "{other}");
        }
    }

    #[test]
    fn errors_follow_the_id_prefix_and_the_service() {
        let (code, message) = ec2("VpcId", "vpc-1").unwrap();
        assert_eq!((code, message.as_str()), ("InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist"));
        assert_eq!(ec2("SecurityGroupId.1", "sg-1").unwrap().0, "InvalidGroup.NotFound");
        assert_eq!(ec2("InternetGatewayId", "igw-1").unwrap().0, "InvalidInternetGatewayID.NotFound");
        assert_eq!(ec2("GatewayId", "igw-1").unwrap().0, "InvalidGatewayID.NotFound");
        assert_eq!(
            ec2("LaunchTemplateId", "lt-1").unwrap().1,
            "The specified launch template, with template ID lt-1, does not exist."
        );
        assert_eq!(ec2("ResourceId.1", "i-1"), None);
        assert_eq!(elb("subnet-1").unwrap(), ("SubnetNotFound", "The subnet ID 'subnet-1' is not valid".into()));
        assert_eq!(elb("vpc-1").unwrap(), ("ValidationError", "The VPC ID 'vpc-1' is not found".into()));
        assert_eq!(auto_scaling("subnet-1").unwrap().1, "The subnet ID 'subnet-1' does not exist");
        assert_eq!(auto_scaling("sg-1"), None);
    }
}
