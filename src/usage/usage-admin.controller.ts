import { Get, Headers, Query, type StreamableFile } from '@nestjs/common';
import { ApiProduces } from '@nestjs/swagger';
import { AdminController } from '../auth/auth.decorators.js';
import { ApiEndpoint } from '../common/http/api-endpoint.decorator.js';
import { UsageRecordsQueryDto, UsageReportQueryDto } from './dto/usage-query.dto.js';
import { UsageRecordPageDto, UsageReportDto } from './dto/usage-report.response.js';
import { UsageAdminService } from './usage-admin.service.js';
import { usageReportReply } from './usage-report.reply.js';

@AdminController('admin/usage')
export class UsageAdminController {
  constructor(private readonly usage: UsageAdminService) {}

  @Get()
  @ApiEndpoint('Spend report grouped by model, api_key, team, day, provider or endpoint (JSON or CSV)', {
    ok: { type: UsageReportDto, description: 'JSON; with Accept: text/csv or format=csv, the rows as CSV' },
    errors: [400],
  })
  @ApiProduces('application/json', 'text/csv')
  async report(
    @Query() query: UsageReportQueryDto,
    @Headers('accept') accept?: string,
  ): Promise<UsageReportDto | StreamableFile> {
    return usageReportReply(await this.usage.report(query), query.format, accept);
  }

  @Get('records')
  @ApiEndpoint('Usage records, newest first, with cursor pagination', { ok: UsageRecordPageDto, errors: [400] })
  records(@Query() query: UsageRecordsQueryDto): Promise<UsageRecordPageDto> {
    return this.usage.records(query);
  }
}
