import type { FastifyInstance } from 'fastify'
import { notFound } from '../http/problem.js'
import { affiliateSecurity, authProblems, problemResponses } from '../http/schemas.js'
import { panelAffiliateId } from '../plugins/auth.js'
import { deleteSigningSecrets, findAffiliate, rotateSigningSecret } from './repository.js'
import { SIGNING_DESCRIPTION } from './schemas.js'
import { newSigningKey, ROTATION_OVERLAP_MS, secretForDisplay } from '../domain/signature.js'
import { affiliateToApi } from './view.js'

const tags = ['Affiliate panel']
const security = affiliateSecurity

/** The affiliate panel's own profile (in /v1). */
export default async function affiliatePanelRoutes (fastify: FastifyInstance) {
  const { db } = fastify

  fastify.get('/affiliate/me', {
    schema: {
      tags,
      security,
      operationId: 'getMyProfile',
      summary: 'The calling affiliate\'s own profile',
      description: 'Affiliate key only. The API key is never shown here.',
      response: { 200: { $ref: 'Affiliate#' }, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const affiliate = await findAffiliate(db, panelAffiliateId(request))
    if (affiliate === undefined) throw notFound('Affiliate')
    return affiliateToApi(affiliate)
  })

  fastify.post('/affiliate/signing-secret', {
    schema: {
      tags,
      security,
      operationId: 'issueMySigningSecret',
      summary: 'Issue (or rotate) the calling affiliate\'s postback signing secret',
      description: SIGNING_DESCRIPTION,
      response: { 200: { $ref: 'AffiliateSigningSecret#' }, ...problemResponses(...authProblems, 404) },
    },
  }, async (request) => {
    const key = newSigningKey()
    if (!(await rotateSigningSecret(db, panelAffiliateId(request), key, ROTATION_OVERLAP_MS))) throw notFound('Affiliate')
    return { secret: secretForDisplay(key) }
  })

  fastify.delete('/affiliate/signing-secret', {
    schema: {
      tags,
      security,
      operationId: 'deleteMySigningSecret',
      summary: 'Turn postback signing off for the calling affiliate',
      description:
        'Removes the caller\'s signing secrets, the one still in its rotation overlap too: attempts claimed from now on ' +
        'carry no `webhook-*` headers. 204 also when no secret was set.',
      response: { 204: { type: 'null', description: 'Signing is off' }, ...problemResponses(...authProblems, 404) },
    },
  }, async (request, reply) => {
    if (!(await deleteSigningSecrets(db, panelAffiliateId(request)))) throw notFound('Affiliate')
    return reply.code(204).send()
  })
}
