/** Checks and small helpers the model stores share (names and ids end up in etcd keys). */
import { InvalidRequestError, ResourceNotFoundError } from './model-errors';

/** Names: letters, digits, '_', '.', ':', '-', starting with a letter or digit; no '/', no whitespace. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/;
/** Ids: anything but '/' and whitespace. */
export const ID_RE = /^[^/\s]{1,253}$/;

export function checkName(what: string, name: string): string {
  if (!NAME_RE.test(name)) {
    throw new InvalidRequestError(`${what} "${name}" is invalid: 1-63 characters, letters, digits, '_', '.', ':', '-', starting with a letter or digit`);
  }
  return name;
}

export function checkId(what: string, id: string): string {
  if (!ID_RE.test(id)) throw new InvalidRequestError(`${what} "${id}" is invalid: 1-253 characters without '/' or whitespace`);
  return id;
}

export function checkMtu(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < 576 || mtu > 9000) throw new InvalidRequestError(`mtu ${mtu} is out of range 576..9000`);
  return mtu;
}

export function throwNotFound(kind: string, id: string): never {
  throw new ResourceNotFoundError(kind, id);
}

export function compareIds(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

export const isoNow = (): string => new Date().toISOString();
