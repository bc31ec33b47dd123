import { Get, Headers, Query, type StreamableFile } from '@nestjs/common';
import { ApiCookieAuth, ApiProduces } from '@nestjs/swagger';
import { CurrentPrincipal, V1Controller } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { ApiEndpoint } from '../common/http/api-endpoint.decorator.js';
import { CallerUsageRecordsQueryDto, CallerUsageReportQueryDto } from './dto/usage-query.dto.js';
import { UsageRecordPageDto, UsageReportDto } from './dto/usage-report.response.js';
import { UsageAdminService } from './usage-admin.service.js';
import { usageReportReply } from './usage-report.reply.js';
import { scopeToCaller } from './usage-scope.js';

/** `/admin/usage` for an API key: the same reports over its own requests or its team's, never another team's. */
@V1Controller('usage')
@ApiCookieAuth('console')
export class UsageV1Controller {
  constructor(private readonly usage: UsageAdminService) {}

  @Get()
  @ApiEndpoint(
    "The calling key's spend (scope=key) or its team's (scope=team), grouped as /admin/usage groups it (JSON or CSV); another team or, with scope=key, another key is 403",
    {
      ok: { type: UsageReportDto, description: 'JSON; with Accept: text/csv or format=csv, the rows as CSV' },
      errors: [400, 403],
    },
  )
  @ApiProduces('application/json', 'text/csv')
  async report(
    @CurrentPrincipal() principal: Principal,
    @Query() query: CallerUsageReportQueryDto,
    @Headers('accept') accept?: string,
  ): Promise<UsageReportDto | StreamableFile> {
    return usageReportReply(await this.usage.report(scopeToCaller(principal, query)), query.format, accept);
  }

  @Get('records')
  @ApiEndpoint("The calling key's usage records (scope=key) or its team's (scope=team), newest first, cursor-paged", {
    ok: UsageRecordPageDto,
    errors: [400, 403],
  })
  records(
    @CurrentPrincipal() principal: Principal,
    @Query() query: CallerUsageRecordsQueryDto,
  ): Promise<UsageRecordPageDto> {
    return this.usage.records(scopeToCaller(principal, query));
  }
}
