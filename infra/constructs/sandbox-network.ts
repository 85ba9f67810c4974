import { Fn, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

/** An existing VPC to deploy into, identified by ids only (no context lookup, so synth stays offline). */
export interface ExistingVpcProps {
  /** The VPC's id (`vpc-…`). */
  readonly vpcId: string;
  /** Subnets for the sandbox tasks and the EFS mount targets, at most one per Availability Zone. */
  readonly subnetIds: readonly string[];
  /**
   * Whether sandbox tasks get a public IP. True for public subnets (image pulls go out through the
   * internet gateway); false for private subnets with a NAT gateway or VPC endpoints for ECR, S3 and logs.
   */
  readonly assignPublicIp: boolean;
  /**
   * Route tables of those subnets. When given, a DynamoDB gateway endpoint is created on them; when
   * absent, the VPC must already route DynamoDB through one (docs/deploy.md), since the storage
   * function reaches DynamoDB only that way.
   */
  readonly routeTableIds?: readonly string[];
}

/** Where a deployment's network comes from: a new VPC, or ids of an existing one. */
export interface SandboxNetworkProps {
  /** Deploy into this VPC; when absent a new VPC with public subnets and no NAT gateway is created. */
  readonly existingVpc?: ExistingVpcProps;
  /** Availability Zones for a new VPC. @default 2 */
  readonly maxAzs?: number;
}

/**
 * Where the sandboxes and the file system's mount targets live. The default is a new VPC with only
 * public subnets and no NAT gateway: nothing in it is billed by the hour, so an idle stack costs about
 * nothing. Sandboxes then receive public IPs for image pulls and are shut off by security groups.
 */
export class SandboxNetwork extends Construct {
  /** The VPC the sandboxes, the mount targets and the storage function live in. */
  readonly vpc: ec2.IVpc;
  /** The sandbox subnets as a selection, for constructs that take one (the file system). */
  readonly subnets: ec2.SubnetSelection;
  /** The subnets sandbox tasks are placed in (the same ones that hold the EFS mount targets). */
  readonly selectedSubnets: readonly ec2.ISubnet[];
  /** Whether sandbox tasks get a public IP: true exactly when the sandbox subnets are public. */
  readonly assignPublicIp: boolean;

  constructor(scope: Construct, id: string, props: SandboxNetworkProps = {}) {
    super(scope, id);

    if (props.existingVpc) {
      const existing = props.existingVpc;
      if (existing.subnetIds.length === 0) {
        throw new Error('existingVpc.subnetIds must name at least one subnet');
      }
      // Only the VPC id is used: subnets are always selected explicitly below, never by type or AZ, so
      // the zones are placeholders that are never rendered.
      this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: existing.vpcId,
        availabilityZones: existing.subnetIds.map((_, i) => Fn.select(i, Fn.getAzs())),
      });
      const subnets = existing.subnetIds.map((subnetId, i) => {
        const subnet = ec2.Subnet.fromSubnetId(this, `Subnet${i}`, subnetId);
        Validations.of(subnet).acknowledge({
          id: '@aws-cdk/aws-ec2:noSubnetRouteTableId',
          reason: 'Nothing in this app reads the route tables of imported subnets.',
        });
        return subnet;
      });
      this.subnets = { subnets };
      this.selectedSubnets = subnets;
      this.assignPublicIp = existing.assignPublicIp;
      if (existing.routeTableIds && existing.routeTableIds.length > 0) {
        // The L1 resource: an imported VPC's subnets carry no route table ids (see the acknowledgment
        // above), so `addGatewayEndpoint` would have nothing to attach to.
        new ec2.CfnVPCEndpoint(this, 'DynamoDbEndpoint', {
          vpcId: existing.vpcId,
          serviceName: ec2.GatewayVpcEndpointAwsService.DYNAMODB.name,
          vpcEndpointType: ec2.VpcEndpointType.GATEWAY,
          routeTableIds: [...existing.routeTableIds],
        });
      }
      return;
    }

    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: props.maxAzs ?? 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 20 }],
    });
    this.vpc = vpc;
    this.subnets = { subnetType: ec2.SubnetType.PUBLIC };
    this.selectedSubnets = vpc.publicSubnets;
    this.assignPublicIp = true;
    // The storage function has no public IP (Lambda never gives one), so this free gateway endpoint
    // is its only way to DynamoDB; the sandboxes' own DynamoDB calls take it too, privately.
    vpc.addGatewayEndpoint('DynamoDbEndpoint', {
      service: ec2.GatewayVpcEndpointAwsService.DYNAMODB,
      subnets: [this.subnets],
    });

    Validations.of(vpc).acknowledge({
      id: 'AwsSolutions-VPC7',
      reason:
        'Flow logs are billed per GB ingested; the sandboxes are reachable only from the clients security ' +
        'group, and operators who need traffic records enable flow logs on this VPC or bring their own VPC.',
    });
  }
}
