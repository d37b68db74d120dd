import { Container } from 'inversify';
import { describe, expect, it } from 'vitest';
import { AbError, PluginError, UserError } from '../core/errors.js';
import { serviceId, ServiceIds } from '../core/service-ids.js';
import { PluginActivationService, registryModule, ServiceRegistry } from '../services/registry/module.js';

interface Greeter {
  greet(): string;
}
const Greeter = serviceId<Greeter>('test.Greeter');
const greeter = (text: string): Greeter => ({ greet: () => text });

describe('ServiceRegistry', () => {
  it('returns [] and throws a named error when nothing is registered', () => {
    const registry = new ServiceRegistry();
    expect(registry.getServices(Greeter)).toEqual([]);
    let caught: unknown;
    try {
      registry.getSingletonService(ServiceIds.IntrospectorPlugin);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UserError);
    expect((caught as AbError).code).toBe('SERVICE_NOT_FOUND');
    expect((caught as AbError).message).toContain('"IntrospectorPlugin"');
    expect((caught as AbError).hint).toContain('IntrospectorPlugin');
  });

  it('finds a service by typed id and by bare name alike', () => {
    const registry = new ServiceRegistry();
    const g = greeter('hi');
    const reg = registry.register('alpha', Greeter, g);
    expect(reg.owner).toBe('alpha');
    expect(reg.id.name).toBe('test.Greeter');
    expect(reg.service).toBe(g);
    expect(registry.getSingletonService(Greeter)).toBe(g);
    expect(registry.getSingletonService<Greeter>('test.Greeter')).toBe(g);
    expect(registry.getServices('test.Greeter')).toEqual([g]);
  });

  it('orders by ranking, highest first, then earliest registration', () => {
    const registry = new ServiceRegistry();
    registry.register('a', Greeter, greeter('a0'));
    registry.register('b', Greeter, greeter('b5'), { ranking: 5 });
    registry.register('c', Greeter, greeter('c0'));
    registry.register('d', Greeter, greeter('d-1'), { ranking: -1 });
    registry.register('e', Greeter, greeter('e5'), { ranking: 5 });
    registry.register('f', Greeter, greeter('f10'), { ranking: 10 });
    expect(registry.getServices(Greeter).map((s) => s.greet())).toEqual(['f10', 'b5', 'e5', 'a0', 'c0', 'd-1']);
    expect(registry.getSingletonService(Greeter).greet()).toBe('f10');
    expect(registry.getServicesWithOwner(Greeter).map((s) => [s.owner, s.service.greet()])).toEqual([
      ['f', 'f10'],
      ['b', 'b5'],
      ['e', 'e5'],
      ['a', 'a0'],
      ['c', 'c0'],
      ['d', 'd-1'],
    ]);
  });

  it('earliest wins among equal rankings', () => {
    const registry = new ServiceRegistry();
    const first = greeter('first');
    registry.register('a', Greeter, first);
    registry.register('b', Greeter, greeter('second'));
    expect(registry.getSingletonService(Greeter)).toBe(first);
  });

  it('unregister removes the service; a second unregister throws a clear error', () => {
    const registry = new ServiceRegistry();
    const reg = registry.register('alpha', Greeter, greeter('x'));
    const other = registry.register('beta', Greeter, greeter('y'));
    reg.unregister();
    expect(registry.getServices(Greeter).map((s) => s.greet())).toEqual(['y']);
    expect(() => reg.unregister()).toThrow(PluginError);
    expect(() => reg.unregister()).toThrow(/"test\.Greeter".*"alpha".*already unregistered/);
    other.unregister();
    expect(registry.getServices(Greeter)).toEqual([]);
    expect(() => registry.getSingletonService(Greeter)).toThrow(/"test\.Greeter"/);
  });

  it('unregisterAll removes only that owner and makes its handles stale', () => {
    const registry = new ServiceRegistry();
    const Other = serviceId<string>('test.Other');
    const mine = registry.register('alpha', Greeter, greeter('a1'));
    registry.register('alpha', Other, 'a2');
    registry.register('beta', Greeter, greeter('b1'));
    expect(registry.getServicesWithOwner(Other).map((s) => s.owner)).toEqual(['alpha']);
    expect(registry.unregisterAll('alpha')).toBe(2);
    expect(registry.unregisterAll('alpha')).toBe(0);
    expect(registry.getServices(Greeter).map((s) => s.greet())).toEqual(['b1']);
    expect(registry.getServices(Other)).toEqual([]);
    expect(registry.getServicesWithOwner(Greeter).map((s) => s.owner)).toEqual(['beta']);
    expect(() => mine.unregister()).toThrow(/already unregistered/);
    // The not-found error remembers who provided the id before it was removed.
    expect(() => registry.getSingletonService(Other)).toThrow(/"test\.Other".*"alpha".*failed or stopped/);
  });

  it('rejects a bad ranking, a missing service and an invalid id name', () => {
    const registry = new ServiceRegistry();
    expect(() => registry.register('a', Greeter, greeter('x'), { ranking: Number.NaN })).toThrow(/ranking/);
    expect(() => registry.register('a', Greeter, undefined as unknown as Greeter)).toThrow(/registered undefined/);
    expect(() => registry.register('a', 'not a name!', 1)).toThrow(/invalid service id/);
    expect(registry.getServices(Greeter)).toEqual([]);
  });

  it('a collector is a live view', () => {
    const registry = new ServiceRegistry();
    const collector = registry.createCollector();
    expect(collector.getServices(Greeter)).toEqual([]);
    const late = greeter('late');
    const reg = registry.register('a', Greeter, late);
    expect(collector.getSingletonService(Greeter).greet()).toBe('late');
    expect(collector.getServicesWithOwner(Greeter)).toEqual([{ owner: 'a', service: late }]);
    reg.unregister();
    expect(collector.getServices(Greeter)).toEqual([]);
    expect(collector.getServicesWithOwner(Greeter)).toEqual([]);
  });

  it('handles many registrations of one id without reordering cost', () => {
    const registry = new ServiceRegistry();
    const t0 = performance.now();
    for (let i = 0; i < 20_000; i++) registry.register(`p${i}`, Greeter, greeter(String(i)));
    for (let i = 0; i < 20_000; i++) registry.getSingletonService(Greeter);
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(registry.getSingletonService(Greeter).greet()).toBe('0');
    expect(registry.getServices(Greeter)).toHaveLength(20_000);
  });
});

describe('registryModule', () => {
  it('binds the registry and the activation service as singletons sharing one registry', () => {
    const container = new Container();
    container.load(registryModule);
    const registry = container.get(ServiceRegistry);
    expect(container.get(ServiceRegistry)).toBe(registry);
    const activation = container.get(PluginActivationService);
    expect(container.get(PluginActivationService)).toBe(activation);
    expect(activation.registry).toBe(registry);
  });
});
