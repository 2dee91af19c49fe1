/**
 * route: which of the config's routes an event is for. Zero, one or many
 * (fan-out); each match carries the render context with its own regex captures.
 */
import type {LauncherConfig, Route} from '../config/types';
import {DEFAULT_TYPES, type TriggerEvent} from '../events/event';
import {eventContext} from '../events/context';
import {PatternRefusedError} from '../patterns/linear-regex';

export interface RouteMatch {
  route: Route;
  /** The event's variables plus this route's named regex captures. */
  context: Record<string, unknown>;
  /**
   * A pattern of the route that RE2 refused when first used (`validate`
   * reports it before deploy): rendering rejects the route with this reason,
   * so the event is dead-lettered, not redelivered forever.
   */
  refused?: string;
}

export function routeEvent(
  config: LauncherConfig,
  event: TriggerEvent,
): RouteMatch[] {
  const base = eventContext(event);
  const matches: RouteMatch[] = [];
  for (const route of config.routes) {
    let captures: Record<string, string> | undefined;
    try {
      captures = matchRoute(route, event, base);
    } catch (err) {
      if (!(err instanceof PatternRefusedError)) throw err;
      matches.push({route, context: base, refused: err.message});
      continue;
    }
    if (captures) matches.push({route, context: {...base, captures}});
  }
  return matches;
}

/** The named captures when every condition of the route holds, else undefined. */
export function matchRoute(
  route: Route,
  event: TriggerEvent,
  ctx: Record<string, unknown>,
): Record<string, string> | undefined {
  if (!(route.types ?? DEFAULT_TYPES).has(event.type)) return undefined;
  let captures: Record<string, string> | undefined;
  for (const c of route.conditions) {
    const got = c.matcher.match(c.get(ctx));
    if (!got) return undefined;
    // Own keys, defined rather than assigned: a group named __proto__ stays a capture.
    for (const k of Object.keys(got))
      Object.defineProperty((captures ??= {}), k, {
        value: got[k],
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return captures ?? {};
}

/**
 * Why an event with no route is acked, in words: a Storage change other than
 * a finalize is routed only by a route that names its type, and a push whose
 * topic is unknown cannot match a `topic` condition.
 */
export function unmatchedMessage(event: TriggerEvent): string {
  if (!DEFAULT_TYPES.has(event.type))
    return `no route names ${event.type} in match.type; acked (only ${[...DEFAULT_TYPES].join(' and ')} are routed without naming them)`;
  if (event.pubsub && event.pubsub.topic === undefined)
    return 'no route matches this event; acked. Its topic is unknown: the push endpoint path has no /projects/P/topics/T and subscriptionTopics does not list its subscription';
  return 'no route matches this event; acked';
}
