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

const MAX_REASONS = 20;

/** Why each route did not match (the first failing condition of each), for the unmatched line and record. */
export function unmatchedReasons(
  config: LauncherConfig,
  event: TriggerEvent,
): string[] {
  const reasons = config.routes
    .slice(0, MAX_REASONS)
    .map(r => whyNotMatched(r, event));
  if (config.routes.length > MAX_REASONS)
    reasons.push(`… and ${config.routes.length - MAX_REASONS} more routes`);
  return reasons;
}

/**
 * Why a route did not match the event: its first failing condition, as
 * `route orders: name did not match glob incoming/**\/*.csv`. Only called
 * when nothing matched, so the work is off the common path.
 */
export function whyNotMatched(route: Route, event: TriggerEvent): string {
  const at = `route ${route.name}`;
  if (route.types && !route.types.has(event.type))
    return `${at}: type is ${event.type}, the route takes ${[...route.types].join(', ')}`;
  const ctx = eventContext(event);
  for (const c of route.conditions) {
    const value = c.get(ctx);
    if (c.matcher.match(value)) continue;
    const notJson = !c.field.startsWith('json.')
      ? undefined
      : event.pubsub
        ? dataNotJson(event)
        : 'a Storage event has no message data';
    if (notJson) return `${at}: ${c.field}: ${notJson}`;
    return value === undefined
      ? `${at}: ${c.field} is absent, expected ${c.matcher.describe}${withoutResource(event)}`
      : `${at}: ${c.field} did not match ${c.matcher.describe}`;
  }
  return `${at}: matched`;
}

/** A Storage notification sent without the object resource has only the bucket, name and generation. */
function withoutResource(event: TriggerEvent): string {
  return event.notification?.payloadFormat === 'NONE'
    ? ' (the Cloud Storage notification was created with --payload-format=none, so it carries only the bucket, object name and generation; recreate it with --payload-format=json)'
    : '';
}

/** For a Pub/Sub message whose data is not JSON: what it is instead, with a short excerpt; else undefined. */
export function dataNotJson(event: TriggerEvent): string | undefined {
  const p = event.pubsub;
  if (!p || p.json !== undefined) return undefined;
  if (p.jsonUnparsed) return p.jsonUnparsed;
  if (p.text === undefined)
    return `data is not JSON (binary, ${Buffer.byteLength(p.data, 'base64')} bytes)`;
  if (p.text.trim() === '') return 'data is not JSON (the message has no data)';
  const head = p.text.slice(0, EXCERPT);
  return `data is not JSON: ${JSON.stringify(head)}${p.text.length > EXCERPT ? '…' : ''}`;
}

const EXCERPT = 60;

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
    return `no route names ${event.type} in match.type (only ${[...DEFAULT_TYPES].join(' and ')} are routed without naming them)`;
  if (event.pubsub && event.pubsub.topic === undefined)
    return 'no route matches this event: its topic is unknown (the push endpoint path has no /projects/P/topics/T and subscriptionTopics does not list its subscription)';
  return 'no route matches this event';
}
