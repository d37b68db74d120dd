// Mount target forms a plan accepts for a shared NFS file set: server:/export, or file:///path
// (a directory of the instance's machine, bind-mounted: see docs/deployments.md).
import { describe, expect, it } from 'vitest';
import { createDeploymentPlan, validateDeploymentPlan, type DeploymentPlan } from '../../core/deployment-plan/index.js';
import { Appliance, Assembly } from '../../core/metadata/index.js';

function siteWithVolume(): Assembly {
  const web = new Appliance({
    name: 'web',
    creator: 'example',
    fileSets: [{ name: 'data', root: '/srv/data', scope: 'shared', sharedType: 'NFS', captured: false }],
  });
  const site = new Assembly({ name: 'site' });
  site.addMember(web);
  return site;
}

function withTarget(plan: DeploymentPlan, target: string): DeploymentPlan {
  return { ...plan, root: { ...plan.root, children: plan.root.children.map((c) => ({ ...c, mountTargets: c.mountTargets.map((m) => ({ ...m, target })) })) } };
}

describe('NFS mount targets in a plan', () => {
  const site = siteWithVolume();
  const plan = createDeploymentPlan(site);
  const codes = (target: string) => validateDeploymentPlan(site, withTarget(plan, target)).map((p) => p.code);

  it('accepts server:/export and file:///path', () => {
    expect(plan.root.children[0]?.mountTargets.map((m) => m.fileSet)).toEqual(['data']);
    expect(codes('nfs.example:/exports/data')).toEqual([]);
    expect(codes('file:///srv/volume')).toEqual([]);
  });

  it('refuses anything else, and a missing one', () => {
    expect(codes('file://srv/volume')).toEqual(['PLAN_MOUNT_TARGET_INVALID']);
    expect(codes('just-a-name')).toEqual(['PLAN_MOUNT_TARGET_INVALID']);
    expect(codes('')).toEqual(['PLAN_MOUNT_TARGET_MISSING']);
    const p = validateDeploymentPlan(site, withTarget(plan, 'file://srv/volume'))[0];
    expect(p?.message).toContain('(or file:///path for a directory of the instance');
  });
});
