import type { FastifyInstance } from 'fastify'

/**
 * Deleted postbacks: this instance's dispatcher drops the deliveries of them it holds but has not sent, before
 * the delete answers (other instances hear of them from the database's notification at commit).
 */
export function stopDeliveries (fastify: FastifyInstance, postbackIds: readonly number[]): void {
  if (postbackIds.length > 0 && fastify.hasDecorator('dispatcher')) fastify.dispatcher.stopPostbacks(postbackIds)
}
