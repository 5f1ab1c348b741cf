//! Strict mode: moto made to behave like AWS as the AWS documentation describes it. moto is
//! instantly consistent and never busy; AWS is neither. Each rule (one module each) refuses
//! calls the way AWS does for a while after the call that causes it answered, or rewrites
//! moto's answer to show a state AWS passes through: see [`Rule`].

mod boot;
mod consistency;
mod iam;
mod interfaces;
mod judge;
mod listener;
mod not_found;
mod provisioning;
mod tables;

pub(crate) use judge::Judge;

use std::time::Duration;

/// How long each of AWS's delays lasts, counted from the moment the call that starts it
/// answered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Strict {
    /// EC2 eventual consistency: how long a new VPC, subnet, internet gateway, route table,
    /// security group or launch template is unknown to calls naming it and missing from
    /// tag-filtered Describe* answers ([`Rule::Consistency`]).
    pub consistency: Duration,
    /// How long a new instance profile is unusable by Auto Scaling ([`Rule::IamPropagation`]).
    pub iam_propagation: Duration,
    /// How long the network interfaces of a deleted load balancer or of terminated instances
    /// keep security groups, subnets and the VPC in use ([`Rule::InterfacesLinger`]).
    pub interfaces_linger: Duration,
    /// How long a target group stays in use after its listener (or load balancer) is deleted
    /// ([`Rule::ListenerRelease`]).
    pub listener_release: Duration,
    /// How long a deleted DynamoDB table stays `DELETING` ([`Rule::TableDeletion`]).
    pub table_deletion: Duration,
    /// How long a new load balancer stays `provisioning` ([`Rule::LoadBalancerProvisioning`]).
    pub load_balancer_provisioning: Duration,
    /// How long an instance takes to boot: its target is `initial` all that time, and its
    /// Auto Scaling lifecycle state `Pending` for the first half of it ([`Rule::InstanceBoot`]).
    pub instance_boot: Duration,
    /// How long a target must be `unhealthy` before a CloudWatch `UnHealthyHostCount` alarm on its
    /// target group goes to `ALARM` during an instance refresh: it stands for the alarm's
    /// `Period` × `EvaluationPeriods` (60 s or more on AWS).
    pub alarm_evaluation: Duration,
    /// How long an instance refresh waits for a batch of new instances to become healthy before
    /// it fails (or rolls back): it stands for the hour AWS gives an instance refresh with auto
    /// rollback to complete its replacements ("Undo changes with a manual or auto rollback").
    pub refresh_give_up: Duration,
}

impl Strict {
    /// Delays of a few seconds each, like AWS on a good day: consistency 3 s, IAM propagation
    /// 8 s, lingering interfaces 8 s, listener release 4 s, table deletion 5 s, load balancer
    /// provisioning 4 s, instance boot 8 s; and, far shorter than AWS's, 6 s of unhealthy targets
    /// for an alarm and 40 s for an instance refresh's new instances to become healthy.
    pub fn aws_like() -> Strict {
        Strict {
            consistency: Duration::from_secs(3),
            iam_propagation: Duration::from_secs(8),
            interfaces_linger: Duration::from_secs(8),
            listener_release: Duration::from_secs(4),
            table_deletion: Duration::from_secs(5),
            load_balancer_provisioning: Duration::from_secs(4),
            instance_boot: Duration::from_secs(8),
            alarm_evaluation: Duration::from_secs(6),
            refresh_give_up: Duration::from_secs(40),
        }
    }

    /// Every delay multiplied by `factor` (`Strict::aws_like().scaled(0.25)` for a quick test).
    pub fn scaled(self, factor: f64) -> Strict {
        Strict {
            consistency: self.consistency.mul_f64(factor),
            iam_propagation: self.iam_propagation.mul_f64(factor),
            interfaces_linger: self.interfaces_linger.mul_f64(factor),
            listener_release: self.listener_release.mul_f64(factor),
            table_deletion: self.table_deletion.mul_f64(factor),
            load_balancer_provisioning: self.load_balancer_provisioning.mul_f64(factor),
            instance_boot: self.instance_boot.mul_f64(factor),
            alarm_evaluation: self.alarm_evaluation.mul_f64(factor),
            refresh_give_up: self.refresh_give_up.mul_f64(factor),
        }
    }
}

/// A rule of strict mode: what AWS does that moto does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Right after a Create*, EC2 and the services that name EC2 ids answer `…NotFound` for the
    /// new id, and tag-filtered Describe* calls do not list it yet.
    Consistency,
    /// Right after an instance profile is created or given its role, Auto Scaling refuses
    /// launch templates: "Invalid IAM Instance Profile name".
    IamPropagation,
    /// Right after a load balancer is deleted or an Auto Scaling group's instances go, their
    /// network interfaces linger: `DependencyViolation` when deleting security groups, subnets,
    /// the VPC or detaching its internet gateway.
    InterfacesLinger,
    /// Right after a listener is deleted, its target group is still `ResourceInUse`.
    ListenerRelease,
    /// Right after DeleteTable, the table is `DELETING` and its name cannot be reused.
    TableDeletion,
    /// A new load balancer is `provisioning` before it is `active`.
    LoadBalancerProvisioning,
    /// A new instance boots: its target is `initial`, its lifecycle state `Pending`.
    InstanceBoot,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_multiplies_every_delay() {
        let half = Strict::aws_like().scaled(0.5);
        assert_eq!(half.consistency, Duration::from_millis(1500));
        assert_eq!(half.instance_boot, Duration::from_secs(4));
        assert_eq!(half.alarm_evaluation, Duration::from_secs(3));
        assert_eq!(Strict::aws_like().scaled(1.0), Strict::aws_like());
    }
}
