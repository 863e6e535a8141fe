import { describe, expect, it } from 'vitest';
import { FleetSubjects, nodeIdOfSubject } from '../../../shared/src/contracts/fleet-subjects.js';
import { subjectMatches } from '../../../shared/src/infra/bus/subject-pattern.js';

describe('FleetSubjects', () => {
  it('builds exactly the subjects of docs/fleet-protocol.md', () => {
    expect(FleetSubjects.facts('n1')).toBe('tramway.facts.n1');
    expect(FleetSubjects.heartbeat('n1')).toBe('tramway.hb.n1');
    expect(FleetSubjects.plan('n1')).toBe('tramway.agent.n1.plan');
    expect(FleetSubjects.assign('n1')).toBe('tramway.agent.n1.assign');
    expect(FleetSubjects.module('n1')).toBe('tramway.agent.n1.module');
    expect(FleetSubjects.state('n1')).toBe('tramway.agent.n1.state');
    expect(FleetSubjects.assignment('n1')).toBe('tramway.coord.assignment.n1');
    expect(FleetSubjects.agentRequests('n1')).toBe('tramway.agent.n1.>');
    expect(subjectMatches(FleetSubjects.allAssignments(), FleetSubjects.assignment('n1'))).toBe(
      true,
    );
  });

  it("has wildcards that cover every node's facts and heartbeats, and nothing else", () => {
    expect(subjectMatches(FleetSubjects.allFacts(), FleetSubjects.facts('node-17'))).toBe(true);
    expect(subjectMatches(FleetSubjects.allFacts(), FleetSubjects.heartbeat('node-17'))).toBe(
      false,
    );
    expect(subjectMatches(FleetSubjects.allHeartbeats(), FleetSubjects.heartbeat('node-17'))).toBe(
      true,
    );
  });

  it.each(['a.b', 'a*', '>', 'a b', ''])(
    'refuses the node id %j, which is not one subject token',
    (id) => {
      expect(() => FleetSubjects.plan(id)).toThrow(/cannot be a subject token/);
    },
  );

  it('reads the node id back from a subject', () => {
    expect(nodeIdOfSubject(FleetSubjects.facts('n9'))).toBe('n9');
    expect(nodeIdOfSubject(FleetSubjects.factLog('n9'))).toBe('n9');
    expect(FleetSubjects.factLog('n9')).toBe('tramway.factlog.n9');
    expect(nodeIdOfSubject('tramway.factlog.n9.x')).toBeUndefined();
    expect(() => FleetSubjects.factLog('a.b')).toThrow(/subject token/);
    expect(nodeIdOfSubject(FleetSubjects.heartbeat('n9'))).toBe('n9');
    expect(nodeIdOfSubject(FleetSubjects.state('n9'))).toBe('n9');
    expect(nodeIdOfSubject(FleetSubjects.assignment('n9'))).toBe('n9');
    expect(nodeIdOfSubject('tramway.coord.assignment')).toBeUndefined();
  });
});
